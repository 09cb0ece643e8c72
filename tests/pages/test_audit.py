"""A point adjustment made in the staff pages is in the audit trail with the staff member who
made it (the ledger writes it on the driver, out of the ORM's sight)."""

from __future__ import annotations

import re

from sqlalchemy import select

from lojal.audit.models import AuditRecord
from lojal.clock import FixedClock
from tests.factories import make_member
from tests.pages.conftest import Site, csrf_of


def test_an_adjustment_in_the_staff_pages_names_the_staff_member(
    site: Site, clock: FixedClock
) -> None:
    member = make_member(site.session, clock)
    site.session.commit()
    site.sign_in("marketer")
    page = site.client.get(f"/staff/members/{member.id}")
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    data = {
        "points": "120",
        "reason": "lost receipt",
        "key": key.group(1),
        "csrf": csrf_of(page.text),
    }
    answer = site.client.post(f"/staff/members/{member.id}/points", data=data)
    assert answer.status_code == 200, answer.text
    site.session.expire_all()
    [record] = site.session.scalars(
        select(AuditRecord).where(
            AuditRecord.about_member_id == member.id, AuditRecord.action == "points.adjusted"
        )
    ).all()
    assert record.actor == "staff:marketer@example.com"
    assert record.after is not None
    assert record.after["points"] == 120
