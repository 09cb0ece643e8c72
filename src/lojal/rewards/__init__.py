"""The rewards catalogue: what members can turn their points into — a discount coupon, a free
product, a partner's code from an imported pool, an experience or exclusive item in limited
stock, or "points as payment" (points turned into a coupon of exactly their value). Redeeming
spends the points (oldest first) and issues what the reward gives in one transaction."""
