"""Coupons: campaigns, unguessable codes (generated in bulk or one public code for social
media), and their validation and redemption at tills and in web shops, guarded against
guessing."""
