"""Customer insight: lifetime value, churn and RFM from the club's purchase history.

Every module here is pure (NumPy and SciPy, no database, no web) except ``history.py``, which
reads the purchases with SQLAlchemy Core and hands the rest plain arrays.
"""
