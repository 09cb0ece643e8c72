"""Signed outbound webhooks on the club's events, following Standard Webhooks: endpoints
(``models``), signatures (``signing``, pure), which events become which messages
(``events``, called by ``lojal.reactions`` in the recording transaction), delivery by the
worker (``delivery``), and the API and CLI to manage endpoints."""
