"""The worker: jobs in the club's database (a transactional outbox), claimed with a lease,
retried with back-off, dead-lettered after their last try; and the schedule that runs the
club's periodic work (``lojal worker``). See ``lojal.worker.queue`` for the table's life."""
