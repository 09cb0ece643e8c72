"""Every kind of job the worker knows, in one explicit list (like ``lojal.reactions``)."""

from __future__ import annotations

from lojal.insight.tasks import RefitHandler
from lojal.journeys.tasks import JourneyHandler
from lojal.ledger.tasks import LedgerMonthsHandler
from lojal.messaging.delivery import MessageHandler
from lojal.webhooks.delivery import WebhookHandler
from lojal.worker.kinds import Context, Handler
from lojal.worker.schedule import Schedule, ScheduleHandler


def handlers(ctx: Context, schedule: Schedule | None = None) -> dict[str, Handler]:
    found: list[Handler] = [
        ScheduleHandler(ctx, schedule or Schedule()),
        WebhookHandler(ctx),
        MessageHandler(ctx),
        RefitHandler(),
        JourneyHandler(),
        LedgerMonthsHandler(),
    ]
    return {h.kind: h for h in found}
