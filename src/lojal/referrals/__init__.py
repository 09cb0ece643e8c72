"""Referrals: members bring friends, and both are rewarded once the friend's first qualifying
purchase has passed the return window. See ``lojal.referrals.rewards`` for the life of a
referral and ``docs/architecture.md`` (Referrals) for the design."""
