"""Long coupon work, one transaction per step: generating a batch of codes chunk by chunk (a
million codes are 20 transactions of 50,000, and a run that was stopped is run again with the
same key to carry on), and streaming a campaign's codes out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from lojal.coupons import queries, service
from lojal.coupons.models import CouponBatch
from lojal.db.session import transaction

PAGE = 10_000


def generate_batch(
    factory: sessionmaker[Session],
    *,
    campaign_id: int,
    key: str,
    count: int,
    now: datetime,
    chunk: int = service.CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> CouponBatch:
    """Generate the batch ``key`` to the end, each chunk in its own transaction."""
    while True:
        with transaction(factory) as session:
            batch = service.generate(
                session, campaign_id=campaign_id, key=key, count=count, now=now, chunk=chunk
            )
        if progress is not None:
            progress(batch.generated, batch.requested)
        if batch.generated >= batch.requested:
            return batch


def codes_of(
    factory: sessionmaker[Session], *, campaign_id: int, batch_key: str | None = None
) -> Iterator[str]:
    """Every code of the campaign (or of one of its batches), in the order they were made."""
    with transaction(factory, read_only=True) as session:
        batch_id = queries.batch_filter(session, campaign_id, batch_key)
    after: int | None = None
    while True:
        with transaction(factory, read_only=True) as session:
            rows = queries.codes_page(
                session, campaign_id, batch_id=batch_id, after=after, limit=PAGE
            )
            page = [(row.id, row.code) for row in rows]
        yield from (code for _, code in page)
        if len(page) < PAGE:
            return
        after = page[-1][0]
