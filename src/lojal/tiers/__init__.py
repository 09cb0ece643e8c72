"""Tiers: levels a member climbs by what they spend or earn, and keeps or loses at the end of
their tier period. See ``lojal.tiers.qualification`` for the rules."""
