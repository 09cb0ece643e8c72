"""The member's summary: one call with what a member needs to see — points to spend, points on
the way and points about to expire (with dates), tier and progress, rewards they can afford
now, active challenges, their referral link and badges — each part as data for an app to lay
out and as a sentence in the member's language."""
