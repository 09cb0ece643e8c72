"""Awarding a batch of purchases: the rules' award for each purchase, in order, and the rows
it makes — the purchase and its lines with their points, the ledger's earn entry
(``ledger.rows``, checked to balance), the capped rules' usage — with ids relative to the
batch (purchase k, line l, entry e; the lot of entry e is lot e).

The engine is pure, so an award is cached by everything it reads (``_AwardCache``), and
expiry times are cached per local month (``_Expiry``): a year's import repeats both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from lojal.activities.batch import BulkPurchase, Held, Prepared, Written
from lojal.activities.events import PurchaseRecorded
from lojal.activities.queries import MemberRow
from lojal.conditions.model import AllOf, AnyOf, Compare, Not
from lojal.db.driver import Driver
from lojal.ledger import entries
from lojal.program.schemas import ProgramConfig
from lojal.rules.engine import (
    WEEKDAYS,
    Award,
    MemberFacts,
    PurchaseFacts,
    RuleSet,
    award_purchase,
)
from lojal.rules.usage import CapUsage

# (position in the batch, the purchase, its member or None, the identity kept for later)
Planned = tuple[int, BulkPurchase, MemberRow | None, tuple[str, str] | None]


def award_batch(
    out: Prepared,
    plan: Sequence[Planned],
    *,
    db: Driver,
    config: ProgramConfig,
    has_purchase: set[int],
    used: CapUsage,
    details: bool,
) -> None:
    """Compute the rows of ``plan`` into ``out``, in order. ``has_purchase``: the members
    known to have bought before (grows as the batch goes); ``used``: the caps' usage so far
    (grows too)."""
    now = out.now
    result = out.result
    zone = out.zone
    assert zone is not None
    ruleset = out.ruleset
    assert ruleset is not None
    awards = _awards_for(ruleset)
    pending_days = timedelta(days=config.pending_days)
    expiry = _Expiry(config, zone)
    time = db.time
    now_db = time(now)
    currency = config.currency
    purchase_rows, line_rows = out.purchases, out.lines
    ledger_rows, usage_rows = out.ledger, out.usage
    members_purchases = out.recorded
    capped = {rule.id for rule in ruleset.capped}
    window = out.earn_window
    review = timedelta(days=config.fraud.earn_review_days)
    next_line = next_entry = 0
    for purchase_id, (index, p, member, identity) in enumerate(plan):
        occurred_at = p.occurred_at
        if occurred_at.tzinfo is not UTC:
            occurred_at = occurred_at.astimezone(UTC)
        occurred_db = time(occurred_at)
        lines = p.lines
        total = sum(line.total_minor for line in lines)
        line_points: Sequence[int] = (0,) * len(lines)
        points = order_points = 0
        explanation = ""
        owner: int | None = None
        first = False
        if member is not None:
            owner = member.id
            first = owner not in has_purchase
            has_purchase.add(owner)
            out.bought.add(owner)
            if member.status == "active":
                facts = PurchaseFacts(
                    occurred_at, p.channel, total, lines, p.store_id, p.attributes
                )
                member_facts = MemberFacts(
                    first, member.enrolment_channel, member.attributes, member.tier
                )
                usage = used.for_purchase(owner, occurred_at) if capped else None
                key = awards.key(facts, member_facts, usage)
                award = awards.get(key)
                if award is None:
                    award = award_purchase(ruleset, facts, member_facts, usage)
                    if key is not None:
                        awards.put(key, award)
                explanation = award.explanation
                if award.points > 0:
                    entry_id = next_entry
                    next_entry += 1
                    points, order_points = award.points, award.order_points
                    line_points = award.line_points
                    available_at = (p.pending_from or occurred_at) + pending_days
                    if window is not None:
                        limit = window.take(owner, occurred_at, award.points)
                        if limit is not None and now + review > available_at:
                            # over an earn limit: recorded, its points held for review
                            out.held.append(
                                Held(
                                    purchase_id,
                                    owner,
                                    p.order_id,
                                    award.points,
                                    limit,
                                    available_at,
                                    now + review,
                                )
                            )
                            available_at = now + review
                    is_pending = available_at > now
                    expires_at = expiry.of(occurred_at)
                    # the key holds the purchase's relative id until apply()
                    ledger_rows.earn(
                        entry_id=entry_id,
                        lot_id=entry_id,
                        member_id=owner,
                        key=purchase_id,
                        points=points,
                        earned_at=occurred_db,
                        recorded_at=now_db,
                        available_at=time(available_at),
                        expires_at=time(expires_at) if expires_at is not None else None,
                        pending=is_pending,
                        source=f"purchase:{p.order_id}",
                        explanation=explanation,
                        detail=_detail(award),
                    )
                    if capped:
                        for part in award.parts:
                            if part.rule_id in capped:
                                usage_rows.append(
                                    (owner, part.rule_id, entry_id, part.points, occurred_db)
                                )
                                used.add(owner, part.rule_id, occurred_at, part.points)
                    result.points += points
        else:
            result.unmatched += 1
        purchase_rows.append(
            (
                purchase_id,
                p.order_id,
                owner,
                identity[0] if identity else None,
                identity[1] if identity else None,
                p.channel,
                p.store_id,
                occurred_db,
                currency,
                total,
                points,
                order_points,
                db.json(dict(p.attributes)) if p.attributes else "{}",
                now_db,
            )
        )
        for line_no, (line, lp) in enumerate(zip(lines, line_points, strict=True), start=1):
            line_rows.append(
                (
                    next_line,
                    purchase_id,
                    owner,
                    line_no,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.unit_price_minor,
                    line.total_minor,
                    lp,
                )
            )
            next_line += 1
        if owner is not None:
            members_purchases.append(
                PurchaseRecorded(
                    purchase_id,
                    p.order_id,
                    owner,
                    occurred_at,
                    p.channel,
                    p.store_id,
                    total,
                    points,
                    lines,
                    first,
                )
            )
        if details:
            result.details[index] = Written(
                purchase_id,
                owner,
                occurred_at,
                total,
                points,
                tuple(line_points),
                explanation,
            )
    result.written = len(purchase_rows)
    result.skipped_indices.sort()


def _detail(award: Award) -> str:
    return orjson.dumps(
        {"parts": [{"rule": p.rule_id, "points": p.points, "text": p.text} for p in award.parts]}
    ).decode()


class _Expiry:
    """Expiry times, cached per local month when the policy rounds to the month's end."""

    def __init__(self, config: ProgramConfig, zone: ZoneInfo) -> None:
        self.months = config.expiry.months
        self.round = config.expiry.round_to_month_end
        self.timezone = config.timezone
        self.zone = zone
        self.by_month: dict[tuple[int, int], datetime] = {}

    def of(self, earned_at: datetime) -> datetime | None:
        if self.months is None:
            return None
        if not self.round:
            return entries.expiry_for(
                earned_at, months=self.months, round_to_month_end=False, timezone=self.timezone
            )
        local = earned_at.astimezone(self.zone)
        key = (local.year, local.month)
        found = self.by_month.get(key)
        if found is None:
            found = entries.expiry_for(
                earned_at, months=self.months, round_to_month_end=True, timezone=self.timezone
            )
            assert found is not None
            self.by_month[key] = found
        return found


class _AwardCache:
    """Awards already computed for the same inputs. The engine is pure, so an award depends
    only on what it reads: the key holds every input in full except the purchase time, which
    is reduced to what the rules can see of it (weekday, hour, local date) — or kept whole when
    a rule reads ``purchase.occurred_at`` or has a campaign window."""

    LIMIT = 200_000

    def __init__(self, ruleset: RuleSet) -> None:
        fields: set[str] = set()
        windows = False
        for rule in ruleset.rules:
            windows = windows or rule.valid_from is not None or rule.valid_until is not None
            if rule.when is not None:
                _condition_fields(rule.when, fields)

        def reads(name: str) -> bool:
            return any(f in ("purchase", name) or f.startswith(name + ".") for f in fields)

        self.exact_time = windows or reads("purchase.occurred_at")
        self.parts = tuple(
            part for part in ("weekday", "hour", "local_date") if reads(f"purchase.{part}")
        )
        self.zone = ZoneInfo(ruleset.timezone)
        self.cache: dict[tuple[Any, ...], Award] = {}
        self.lookups = self.hits = 0
        self.enabled = True

    def get(self, key: tuple[Any, ...] | None) -> Award | None:
        if key is None:
            return None
        self.lookups += 1
        award = self.cache.get(key)
        if award is not None:
            self.hits += 1
        elif self.lookups == 5000 and self.hits < 500:
            # Baskets rarely repeat here: stop paying for the keys.
            self.enabled = False
            self.cache.clear()
        return award

    def key(
        self, facts: PurchaseFacts, member: MemberFacts, used: Mapping[str, int] | None
    ) -> tuple[Any, ...] | None:
        if not self.enabled:
            return None
        try:
            time_key: Any = None
            if self.exact_time:
                time_key = facts.occurred_at
            elif self.parts:
                local = facts.occurred_at.astimezone(self.zone)
                time_key = tuple(
                    WEEKDAYS[local.weekday()]
                    if part == "weekday"
                    else local.hour
                    if part == "hour"
                    else local.date()
                    for part in self.parts
                )
            return (
                time_key,
                facts.channel,
                facts.store_id,
                facts.total_minor,
                orjson.dumps(facts.attributes, option=orjson.OPT_SORT_KEYS)
                if facts.attributes
                else b"",
                tuple(facts.lines),
                member.first_purchase,
                member.enrolment_channel,
                member.tier,
                orjson.dumps(member.attributes, option=orjson.OPT_SORT_KEYS)
                if member.attributes
                else b"",
                tuple(sorted(used.items())) if used else (),
            )
        except (TypeError, ValueError):  # attributes that do not serialise: no caching
            return None

    def put(self, key: tuple[Any, ...], award: Award) -> None:
        if not self.enabled:
            return
        if len(self.cache) >= self.LIMIT:
            self.cache.clear()
        self.cache[key] = award


_award_caches: dict[int, tuple[RuleSet, _AwardCache]] = {}


def _awards_for(ruleset: RuleSet) -> _AwardCache:
    """One cache per programme version (the ruleset object), reused across batches."""
    held = _award_caches.get(id(ruleset))
    if held is None or held[0] is not ruleset:
        _award_caches.clear()
        held = (ruleset, _AwardCache(ruleset))
        _award_caches[id(ruleset)] = held
    return held[1]


def _condition_fields(condition: Any, out: set[str]) -> None:
    if isinstance(condition, Compare):
        out.add(condition.field)
    elif isinstance(condition, AllOf):
        for child in condition.all:
            _condition_fields(child, out)
    elif isinstance(condition, AnyOf):
        for child in condition.any:
            _condition_fields(child, out)
    elif isinstance(condition, Not):
        _condition_fields(condition.not_, out)
