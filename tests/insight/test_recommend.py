"""The recommendations' pure core on hand-made baskets whose right answers are worked out by
hand: the item model's counts, lift and cosine, a member's buy-again score, the items they
never re-buy, bought together, the next-best offer and the held-out-basket evaluation."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from lojal.insight.recommend import (
    Baskets,
    Options,
    bought_together,
    buy_again,
    fit,
    next_best,
)
from lojal.insight.recommend_evaluation import evaluate, evaluate_timing
from tests.insight.cdnow import CALIBRATION_END, DATA, HOLDOUT_END

# (member, day, item): four baskets of member 1, three of member 2, two of member 3
ROWS = [
    (1, 0, "coffee"),
    (1, 0, "bun"),
    (1, 7, "coffee"),
    (1, 14, "coffee"),
    (1, 14, "bun"),
    (1, 21, "coffee"),
    (2, 0, "coffee"),
    (2, 0, "bun"),
    (2, 10, "tea"),
    (2, 20, "coffee"),
    (2, 20, "bun"),
    (3, 3, "grinder"),
    (3, 3, "coffee"),
    (3, 3, "coffee"),  # the same item twice in a basket is one row
    (3, 9, "tea"),
]


def _baskets() -> Baskets:
    return Baskets.of(*zip(*ROWS, strict=True))


def test_the_item_model_counts_baskets_pairs_and_repeats() -> None:
    model = fit(_baskets(), Options(min_together=1))
    i = model.index()
    assert model.items == ("bun", "coffee", "grinder", "tea")
    assert model.baskets == 9  # (1,0) (1,7) (1,14) (1,21) (2,0) (2,10) (2,20) (3,3) (3,9)
    assert model.basket_count.tolist() == [4, 7, 1, 2]
    assert model.buyers.tolist() == [2, 3, 1, 2]
    assert model.repeat_buyers.tolist() == [2, 2, 0, 0]
    # coffee: member 1 bought it on 3 of 3 later visits, member 2 on 1 of 2, member 3 on 0 of 1
    assert model.repeat_rate[i["coffee"]] == pytest.approx(4 / 6)
    # bun: member 1 on 1 of 3 later visits, member 2 on 1 of 2
    assert model.repeat_rate[i["bun"]] == pytest.approx(2 / 5)
    # coffee's gaps: member 1 7, 7, 7 (median 7); member 2 20: the median of 7 and 20
    assert model.interval[i["coffee"]] == pytest.approx(13.5)
    assert math.isnan(model.interval[i["grinder"]])
    # bun and coffee in 4 baskets: lift (4 + 1) / (4·7/9 + 1), cosine 4 / √(4·7)
    assert model.together[i["bun"], i["coffee"]] == 4
    assert model.lift[i["bun"], i["coffee"]] == pytest.approx(5 / (28 / 9 + 1))
    assert model.cosine[i["bun"], i["coffee"]] == pytest.approx(4 / math.sqrt(28))
    [(j, together, lift, cosine)] = model.neighbours(i["grinder"])
    assert (j, together) == (i["coffee"], 1)
    assert lift == pytest.approx(2 / (7 / 9 + 1))
    assert cosine == pytest.approx(1 / math.sqrt(7))
    # pairs seen once are dropped by default
    assert fit(_baskets()).neighbours(i["grinder"]) == []


def test_buy_again_is_the_habit_the_share_and_whether_it_is_due() -> None:
    model = fit(_baskets(), Options(min_together=1))
    i = model.index()
    days = [0, 0, 7, 14, 14, 21]
    items = [i[x] for x in ("coffee", "bun", "coffee", "coffee", "bun", "coffee")]
    # as of day 28: coffee 3 re-purchases in 3 later visits, every 7 days, last on day 21
    scored, never = buy_again(days, items, as_of=28, model=model)
    coffee = next(s for s in scored if s.item == i["coffee"])
    share = (3 + 4 / 6) / (3 + 1)
    assert coffee.share == pytest.approx(share)
    assert coffee.score == pytest.approx((4 / 5) * share * 1.0)  # due: 7 days of 7
    assert coffee.due_on == 28
    # bun: once more in 3 later visits, every 14 days, last on 14: due on 28 too
    bun = next(s for s in scored if s.item == i["bun"])
    assert bun.score == pytest.approx((2 / 3) * (1 + 2 / 5) / (3 + 1))
    assert never == set()
    # three days after a purchase, a 7-day habit is 3/7 due
    early, _ = buy_again(days, items, as_of=24, model=model)
    assert next(s for s in early if s.item == i["coffee"]).score == pytest.approx(
        (4 / 5) * share * 3 / 7
    )
    # long overdue: 35 days after the last of a 7-day habit; the club's 13.5 days is the longer
    late, _ = buy_again(days, items, as_of=56, model=model)
    assert next(s for s in late if s.item == i["coffee"]).score == pytest.approx(
        (4 / 5) * share * math.exp(-(35 / 13.5 - 1) / 4)
    )


def test_an_item_nobody_re_buys_or_the_member_stopped_buying_is_left_out() -> None:
    model = fit(_baskets(), Options(min_together=1))
    i = model.index()
    # member 3 bought the grinder once: nobody has ever bought one again
    _, never = buy_again([3, 3, 9], [i["grinder"], i["coffee"], i["tea"]], as_of=12, model=model)
    assert i["grinder"] in never
    # a member who bought coffee once and came back five times without it
    days = [0, 1, 2, 3, 4, 5]
    items = [i["coffee"], *[i["tea"]] * 5]
    scored, never = buy_again(days, items, as_of=6, model=model)
    assert i["coffee"] in never
    assert i["coffee"] not in {s.item for s in scored}


def test_bought_together_ranks_new_items_by_popularity_times_lift() -> None:
    model = fit(_baskets(), Options(min_together=1))
    i = model.index()
    offered = bought_together([i["coffee"]], model=model)
    assert [s.item for s in offered] == [i["bun"], i["tea"], i["grinder"]]
    bun, tea, grinder = offered
    assert bun.kind == "bought_together"
    assert bun.because == i["coffee"]
    assert bun.score == pytest.approx(4 / 9 * 5 / (28 / 9 + 1))
    # tea was never bought with coffee: its popularity alone
    assert (tea.kind, tea.because) == ("popular", None)
    assert tea.score == pytest.approx(2 / 9)
    # the grinder met coffee once in 9 baskets: lift (1 + 1) / (7/9 + 1) > 1
    assert grinder.kind == "bought_together"
    assert grinder.score == pytest.approx(1 / 9 * 2 / (7 / 9 + 1))


def test_the_next_best_offer_puts_both_on_one_scale() -> None:
    model = fit(_baskets(), Options(min_together=1))
    i = model.index()
    # member 3 as of day 12: tea once (day 9), coffee once (day 3), the grinder never again
    offer = next_best(
        [3, 3, 9], [i["grinder"], i["coffee"], i["tea"]], as_of=12, model=model,
        options=Options(k=3, min_together=1),
    )  # fmt: skip
    assert i["grinder"] not in {s.item for s in offer}
    coffee_share = (0 + 4 / 6) / (1 + 1)
    coffee_due = 9 / 13.5  # 9 days after, the club's 13.5-day interval
    tea = 0.0  # nobody has re-bought tea: its club interval is unknown
    assert [(s.item, s.kind) for s in offer] == [
        (i["bun"], "bought_together"),
        (i["coffee"], "buy_again"),
    ]
    # the bun: share × lift, and 2 visits without one against a trial of 1: × 1/3
    assert offer[0].score == pytest.approx(4 / 9 * 5 / (28 / 9 + 1) / 3)
    assert offer[1].score == pytest.approx(0.5 * coffee_share * coffee_due + tea)


def _evaluation_baskets() -> Baskets:
    """Members 1–4 buy their own item every week, members 5–8 the popular P, member 9 buys
    X1 twice and then P (new to them); the last basket (day 14) is held out."""
    rows: list[tuple[int, int, str]] = []
    for m in range(1, 5):
        rows += [(m, d, f"X{m}") for d in (0, 7, 14)]
    for m in range(5, 9):
        rows += [(m, d, "P") for d in (0, 7, 14)]
    rows += [(9, 0, "X1"), (9, 7, "X1"), (9, 14, "P")]
    return Baskets.of(*zip(*rows, strict=True))


def test_the_evaluation_holds_out_each_last_basket() -> None:
    done = evaluate(_evaluation_baskets(), Options(k=1))
    assert (done.members, done.baskets, done.items) == (9, 18, 5)
    popularity = done.of("popularity")  # P for everyone
    assert popularity.hit_rate == pytest.approx(5 / 9)
    assert (popularity.repeat_items, popularity.new_items) == (8, 1)
    assert popularity.repeat_recall == pytest.approx(4 / 8)
    assert popularity.new_recall == pytest.approx(1.0)
    best = done.of("next_best")  # each member's own item (member 9: X1 again, a miss)
    assert best.hit_rate == pytest.approx(8 / 9)
    assert best.recall == pytest.approx(8 / 9)
    assert best.precision == pytest.approx(8 / 9)
    assert best.repeat_recall == pytest.approx(1.0)
    assert best.new_recall == pytest.approx(0.0)
    assert done.of("buy_again").hit_rate == pytest.approx(8 / 9)
    # new items only: P for members 1–4 and 9, X1 for 5–8 (the most popular they lack)
    assert done.of("bought_together").hit_rate == pytest.approx(1 / 9)


def test_timing_ranks_who_buys_again() -> None:
    # weekly buyers 1-3 keep buying; 4-6 bought once long ago; 7 weekly but stopped
    rows = [(m, d, "cd") for m in (1, 2, 3) for d in range(0, 70, 7)]
    rows += [(m, 0, "cd") for m in (4, 5, 6)]
    rows += [(7, d, "cd") for d in (0, 7, 14)]
    rows += [(m, 70, "cd") for m in (1, 2, 3)] + [(5, 80, "cd")]
    done = evaluate_timing(
        Baskets.of(*zip(*rows, strict=True)),
        calibration_end=69,
        holdout_end=100,
        top_share=3 / 7,
    )
    assert (done.members, done.buyers) == (7, 4)
    due = done.of("buy_again")
    assert due.top_precision == pytest.approx(1.0)  # members 1-3
    assert due.top_recall == pytest.approx(3 / 4)
    # 1-3 above everyone; 5 (a buyer) ties with 4 and 6 below 7: 3·3 + 0.5·2 of 3·3
    assert due.auc == pytest.approx((9 + 0 + 1) / 12)
    assert np.isclose(done.of("frequency").auc, due.auc)


def test_on_cdnow_the_buy_again_score_finds_who_buys_again_better_than_the_baselines() -> None:
    # The whole CDNOW history (one item: a CD); who of the 23,570 buys again in the 39 weeks
    # after the 39-week calibration? (docs/insight.md gives these figures.)
    members, days = [], []
    with (DATA / "CDNOW_master.txt").open(encoding="ascii") as handle:
        next(handle)
        for text in handle:
            customer, day = text.split()[:2]
            members.append(int(customer))
            days.append(date(int(day[:4]), int(day[4:6]), int(day[6:])).toordinal())
    done = evaluate_timing(
        Baskets.of(members, days, ["cd"] * len(members)),
        calibration_end=CALIBRATION_END.toordinal(),
        holdout_end=HOLDOUT_END.toordinal(),
    )
    assert (done.members, done.buyers) == (23_570, 7_058)
    due, frequency, recency = (done.of(m) for m in ("buy_again", "frequency", "recency"))
    assert due.auc == pytest.approx(0.768, abs=0.001)
    assert due.auc > recency.auc > frequency.auc
    assert due.top_precision > max(frequency.top_precision, recency.top_precision)
