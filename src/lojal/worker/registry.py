"""Every kind of job the worker knows, in one explicit list (like ``lojal.reactions``)."""

from __future__ import annotations

from lojal.worker.kinds import Context, Handler
from lojal.worker.schedule import Schedule, ScheduleHandler


def handlers(ctx: Context, schedule: Schedule | None = None) -> dict[str, Handler]:
    found: list[Handler] = [ScheduleHandler(ctx, schedule or Schedule())]
    return {h.kind: h for h in found}
