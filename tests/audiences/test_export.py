"""A segment as an advertising audience on a hand-made club: who is in it, who is left out
and why, the hashes (worked out here from the literal normalised strings), the API and the
command."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from urllib.parse import unquote

import yaml
from sqlalchemy.orm import Session

from lojal.audiences import service
from lojal.clock import FixedClock
from lojal.members import service as members
from lojal.members.schemas import ConsentGrant
from lojal.program.schemas import ProgramConfig
from lojal.segments import service as segments
from lojal.segments.schemas import SegmentCreate
from tests.cli_runner import runner_for
from tests.conftest import DEFAULT_PROGRAM, Api
from tests.factories import make_member


def h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


ADS = [{"channel": "ads", "granted": True}]


def _club(session: Session, clock: FixedClock) -> tuple[int, dict[str, int]]:
    """Six members in a static list: two who may be in an audience, and one left out for each
    reason (two without consent: never asked, and withdrawn)."""
    made = {
        "anna": make_member(
            session,
            clock,
            email="  Anna.Svensson@Example.SE ",
            phone="070-123 45 67",
            first_name=" Anna ",
            last_name="Öberg",
            consents=ADS,
        ),
        "kalle": make_member(
            session,
            clock,
            email="Kalle.Anka+Klubb@gmail.com",
            phone="+47 412 34 567",
            first_name="Kalle",
            consents=ADS,
        ),
        "never": make_member(
            session,
            clock,
            email="never@example.se",
            consents=[{"channel": "email", "granted": True}],
        ),
        "withdrew": make_member(session, clock, email="withdrew@example.se", consents=ADS),
        "card": make_member(
            session, clock, email=None, card_number="9123456789012345", consents=ADS
        ),
        "closed": make_member(session, clock, email="closed@example.se", consents=ADS),
    }
    ids = {key: m.id for key, m in made.items()}
    members.set_consent(
        session,
        member_id=ids["withdrew"],
        grant=ConsentGrant(channel="ads", granted=False, source="portal"),
        now=clock.now(),
    )
    segment = segments.create(
        session,
        data=SegmentCreate(code="regulars", name="Regulars", kind="static"),
        now=clock.now(),
    )
    segments.import_list(
        session,
        segment=segment.id,
        text="member_id\n" + "\n".join(str(i) for i in ids.values()),
        now=clock.now(),
    )
    members.close(session, member_id=ids["closed"], now=clock.now())
    session.flush()
    return segment.id, ids


ANNA_META = {
    "EMAIL": h("anna.svensson@example.se"),
    "PHONE": h("46701234567"),
    "FN": h("anna"),
    "LN": h("öberg"),
    "COUNTRY": h("se"),
}
KALLE_META = {
    "EMAIL": h("kalle.anka+klubb@gmail.com"),
    "PHONE": h("4741234567"),
    "FN": h("kalle"),
    "LN": "",
    "COUNTRY": h("no"),
}


def test_only_consenting_members_with_an_identifier_are_exported(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    segment_id, ids = _club(session, clock)
    built = service.build(session, segment=segment_id, config=program, now=clock.now())
    assert [p.member_id for p in built.people] == [ids["anna"], ids["kalle"]]
    left = built.left_out
    assert (left.closed, left.no_consent, left.no_identifier, left.total) == (1, 2, 1, 4)
    assert built.name == f"lojal segment {segment_id} – {clock.now().date().isoformat()}"

    rows = list(csv.DictReader(io.StringIO("".join(service.render(built, "meta")))))
    assert rows == [ANNA_META, KALLE_META]

    google = json.loads("".join(service.render(built, "google")))
    assert google["encoding"] == "HEX"
    assert [m["userData"]["userIdentifiers"] for m in google["audienceMembers"]] == [
        [{"emailAddress": h("anna.svensson@example.se")}, {"phoneNumber": h("+46701234567")}],
        [{"emailAddress": h("kalleanka@gmail.com")}, {"phoneNumber": h("+4741234567")}],
    ]
    assert all(
        m["consent"] == {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"}
        for m in google["audienceMembers"]
    )


def test_the_api_streams_the_file_and_says_who_was_left_out(
    api: Api, session: Session, clock: FixedClock
) -> None:
    segment_id, _ = _club(session, clock)
    session.commit()
    r = api.get(f"/segments/{segment_id}/audience", params={"format": "meta"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert list(csv.DictReader(io.StringIO(r.text))) == [ANNA_META, KALLE_META]
    assert r.headers["audience-members"] == "2"
    assert r.headers["audience-left-out"] == "closed=1, no_consent=2, no_identifier=1"
    assert unquote(r.headers["audience-name"]).startswith(f"lojal segment {segment_id} – ")

    g = api.get(
        f"/segments/{segment_id}/audience", params={"format": "google", "name": "Kaffe & bulle"}
    )
    assert g.status_code == 200, g.text
    assert len(g.json()["audienceMembers"]) == 2
    assert unquote(g.headers["audience-name"]) == "Kaffe & bulle"


def test_the_api_refuses_a_name_of_health_or_finances_and_bad_input(
    api: Api, session: Session, clock: FixedClock
) -> None:
    segment_id, _ = _club(session, clock)
    session.commit()
    r = api.get(f"/segments/{segment_id}/audience", params={"name": "Diabetiker i Malmö"})
    assert r.status_code == 422
    assert r.json()["error"] == "InvalidAudienceName"
    assert r.json()["field"] == "name"
    assert "diabetiker" in r.json()["detail"]
    bad = api.get(f"/segments/{segment_id}/audience", params={"format": "tiktok"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "format"
    assert api.get("/segments/999999/audience").status_code == 404
    assert api.get(f"/segments/{segment_id}/audience", scope="pos").status_code == 403


def test_the_command_writes_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump(DEFAULT_PROGRAM), encoding="utf-8")
    run = runner_for(url)

    run("db", "upgrade")
    run("program", "apply", str(club))
    run("members", "enrol", "--email", "Ada@Example.se")
    run("members", "enrol", "--email", "bo@example.se")
    listed = tmp_path / "list.yaml"
    listed.write_text(yaml.safe_dump({"code": "all", "name": "All", "kind": "static"}))
    run("segments", "create", str(listed))
    ids = tmp_path / "ids.csv"
    ids.write_text("member_id\n1\n2\n", encoding="utf-8")
    run("segments", "import-list", "all", str(ids))
    out = tmp_path / "all.csv"
    said = run("segments", "audience", "all", "--format", "meta", "--out", str(out))
    # nobody has given the ads consent yet
    assert "0 members written" in said
    assert "2 without ads consent" in said
    assert out.read_text(encoding="utf-8") == "EMAIL,PHONE,FN,LN,COUNTRY\n"
    refused = run("segments", "audience", "all", "--out", str(out), "--name", "Low income", code=1)
    assert "income" in refused
