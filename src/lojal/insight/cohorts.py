"""Cohort retention from the stored figures (pure): members grouped by the month of their
first purchase, and for each month since, the share of them *still buying* — whose last
purchase (up to the fit's day) is in that month or later.

This reads only what each member's row of ``member_scores`` keeps (the first and the last
purchase day), so a club of any size is one grouped query. It is the survival view of
retention: a member who skipped a month and came back counts as still buying through it
(a month-by-month activity view would need every purchase, not the stored figures). Month 0
is 100 % by construction; the share never rises from one month to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


def month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class CohortRow:
    month: date  # of the first purchase
    members: int
    still_buying: list[int]  # at 0, 1, ... months since, up to the fit's month

    @property
    def shares(self) -> list[float]:
        return [n / self.members if self.members else 0.0 for n in self.still_buying]


def retention(
    counts: Iterable[tuple[int, int, int]], *, as_of: date, months: int = 12
) -> list[CohortRow]:
    """``counts``: (month number of the first purchase, of the last, members). The last
    ``months`` cohorts up to ``as_of``'s month, oldest first."""
    end = month_number(as_of)
    first_cohort = end - months + 1
    by_cohort: dict[int, dict[int, int]] = {}
    for first, last, n in counts:
        if first < first_cohort or first > end:
            continue
        lasts = by_cohort.setdefault(first, {})
        lasts[last] = lasts.get(last, 0) + n
    out = []
    for cohort in range(first_cohort, end + 1):
        lasts = by_cohort.get(cohort, {})
        members = sum(lasts.values())
        still = [
            sum(n for last, n in lasts.items() if last >= cohort + k)
            for k in range(end - cohort + 1)
        ]
        out.append(CohortRow(month_of(cohort), members, still))
    return out
