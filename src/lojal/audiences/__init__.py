"""Advertising audiences ("customer twins"): a saved segment as a Meta custom-audience file and
a Google Customer Match upload for the Data Manager API, hashed, for the members who consented."""
