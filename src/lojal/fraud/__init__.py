"""Fraud guards: velocity limits on earning and spending, a hold on spending after a change of
email or phone, and alerts on unusual patterns (see ``lojal.fraud.guards``)."""
