"""Recommendations stored by the refit and read for a member on a hand-made club: the
member's offer through the API (buy again with its due day, bought together, popular), the
summary's part, a message template's values, the evaluation, and the commands."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import yaml
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.db.models import Base
from lojal.insight import recommendations, tasks
from lojal.insight.models import RecommendationItem, RecommendationPair
from lojal.insight.schemas import RefitRequest
from lojal.summary import service as summary
from tests.cli_runner import runner_for
from tests.conftest import DEFAULT_PROGRAM, Api
from tests.factories import make_member, unique
from tests.insight.club import make_club as make_scored_club
from tests.insight.club import noon

TODAY = date(2026, 3, 2)  # the clock's day (tests.conftest.START)
NAMES = {"beans": "Coffee beans", "bun": "Cinnamon bun", "latte": "Latte", "mug": "Mug"}


def basket(session: Session, member_id: int, day: date, *skus: str) -> None:
    purchases = Base.metadata.tables["purchases"]
    at = noon(day)
    purchase_id = session.execute(
        insert(purchases)
        .values(
            order_id=unique("rec"),
            member_id=member_id,
            channel="store",
            occurred_at=at,
            currency="SEK",
            total_minor=1000 * len(skus),
            points=0,
            order_points=0,
            attributes={},
            recorded_at=at,
        )
        .returning(purchases.c.id)
    ).scalar_one()
    session.execute(
        insert(Base.metadata.tables["purchase_lines"]),
        [
            {
                "purchase_id": purchase_id,
                "member_id": member_id,
                "line_no": n,
                "sku": sku,
                "name": NAMES[sku],
                "category": "shop",
                "quantity": 1,
                "unit_price_minor": 1000,
                "total_minor": 1000,
                "points": 0,
            }
            for n, sku in enumerate(skus, start=1)
        ],
    )


def make_club(session: Session, clock: FixedClock) -> dict[str, int]:
    """Ada buys beans every 14 days, last 14 days ago (due today); five others buy a latte
    with a bun, and Ada has never had a bun; the mug was bought once by Bo. (With the ten
    members of ``tests.insight.club``, whose purchases have no lines, so that the refit's
    models have something to fit.)"""
    make_scored_club(session, clock)
    ada = make_member(session, clock, first_name="Ada").id
    for weeks in (8, 6, 4, 2):
        basket(session, ada, TODAY - timedelta(days=7 * weeks), "beans", "latte")
    others = [make_member(session, clock).id for _ in range(5)]
    for n, member in enumerate(others):
        for ago in (30 + n, 20 + n):
            basket(session, member, TODAY - timedelta(days=ago), "latte", "bun")
    basket(session, others[0], TODAY - timedelta(days=40), "mug")
    session.flush()
    return {"ada": ada, "bo": others[0]}


def test_the_refit_stores_the_items_and_a_member_gets_an_offer(
    api: Api, session: Session, clock: FixedClock
) -> None:
    ids = make_club(session, clock)
    before = recommendations.for_member(session, member_id=ids["ada"], now=clock.now())
    # no refit yet: only Ada's own items, due today
    assert before.fitted_as_of is None
    assert [(r.sku, r.kind) for r in before.items] == [
        ("beans", "buy_again"),
        ("latte", "buy_again"),
    ]
    tasks.refit(session, now=clock.now(), request=RefitRequest())
    session.commit()
    assert session.scalar(select(func.count()).select_from(RecommendationItem)) == 4
    pair = session.get(RecommendationPair, ("bun", "latte"))
    assert pair is not None
    # latte in 14 baskets, bun in 10, together in 10 of 15
    assert (pair.together, pair.cosine) == (10, 10 / (14 * 10) ** 0.5)

    got = api.get(f"/members/{ids['ada']}/recommendations", scope="web")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["fitted_as_of"] == str(TODAY - timedelta(days=1))
    items = {r["sku"]: r for r in body["items"]}
    assert items["beans"]["kind"] == "buy_again"
    assert items["beans"]["due_on"] == str(TODAY)
    assert items["bun"]["kind"] == "bought_together"
    assert (items["bun"]["because"], items["bun"]["because_name"]) == ("latte", "Latte")
    # beans: 3 of 3 later visits, habit 4/5, due; the bun: 10/15 of baskets × its lift
    assert body["items"][0]["sku"] == "beans"
    assert items["mug"]["kind"] == "popular"  # bought alone: nothing of Ada's goes with it

    assert api.get("/members/999999/recommendations").status_code == 404
    assert api.get(f"/members/{ids['ada']}/recommendations", params={"k": 0}).status_code == 422

    said = summary.summary(session, member_id=ids["ada"], now=clock.now(), locale="sv")
    assert said.recommendations[0].sku == "beans"
    assert said.recommendations[0].text == "Dags att köpa Coffee beans igen?"
    assert any(r.text == "Cinnamon bun passar bra till Latte" for r in said.recommendations), (
        said.recommendations
    )

    values = recommendations.template_values(session, member_id=ids["ada"], now=clock.now())
    template = SandboxedEnvironment().from_string(
        "{% for r in recommendations %}{{ r.name }}"
        "{% if r.because_name %} (with {{ r.because_name }}){% endif %};{% endfor %}"
    )
    rendered = template.render(recommendations=values)
    assert rendered.startswith("Coffee beans;")
    assert "Cinnamon bun (with Latte);" in rendered

    evaluation = api.get("/insight/recommendations/evaluation", params={"k": 1})
    assert evaluation.status_code == 200, evaluation.text
    methods = {r["method"]: r for r in evaluation.json()["results"]}
    assert set(methods) == {"popularity", "buy_again", "bought_together", "next_best"}
    assert evaluation.json()["members"] == 6


def test_the_commands_recommend_and_evaluate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump(DEFAULT_PROGRAM), encoding="utf-8")
    run = runner_for(url)

    run("db", "upgrade")
    run("program", "apply", str(club))
    shown = run("insight", "recommend", "1", code=1)
    assert "member" in shown.lower()
    said = run("insight", "evaluate-recommendations", code=1)
    assert "nothing to evaluate" in said
    refused = run("insight", "evaluate-recommendations", "--timing", code=2)
    assert "calibration" in refused
