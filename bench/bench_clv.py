"""CLV models: lojal.insight against the lifetimes package on the same synthetic customers.

    .venv/bin/python -m bench.bench_clv                    # 1,000,000 customers
    .venv/bin/python -m bench.bench_clv --customers 100000 --repeat 5

The customers are drawn (NumPy, seeded) from the BG/NBD and Gamma-Gamma parameters fitted on
the CDNOW sample, in CDNOW's shape: first purchases spread over 12 weeks, a 39-week
calibration period, times in weeks on whole days. Timed, as medians of ``--repeat`` runs:

* ``bgnbd+gg``: fit the BG/NBD on (x, t_x, T), fit the Gamma-Gamma on the repeat customers,
  and the 12-month CLV at 1 % a month for every customer;
* ``paretonbd``: fit the Pareto/NBD.

lifetimes runs as its documentation shows (plain ``fit`` on the per-customer arrays); it is
timed once per figure because of its length, and at ``--lifetimes-pareto-customers`` for the
Pareto/NBD when that is fewer (its fit at 1M takes many minutes). lojal's figures for that
size are taken too, so each ratio compares the same data.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.common import machine
from lojal.insight.arrays import FloatArray
from lojal.insight.bgnbd import fit_bgnbd
from lojal.insight.clv import discounted_purchases
from lojal.insight.gammagamma import fit_gammagamma
from lojal.insight.paretonbd import fit_paretonbd

# fitted on the CDNOW sample (tests/insight/test_models.py)
R, ALPHA, A, B = 0.2426, 4.4135, 0.7929, 2.4258
P, Q, GAMMA = 6.2488, 3.7446, 15.4477
WEEKS_PER_MONTH = 4.345  # lifetimes' month (its freq="W"), for the same CLV


@dataclass(frozen=True)
class Customers:
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    zbar: FloatArray


def synthetic(n: int, seed: int = 2005) -> Customers:
    """BG/NBD customers: λ ~ Gamma(r, α), p ~ Beta(a, b); after every repeat purchase the
    customer leaves with probability p. Spend per transaction Gamma(p, ν), ν ~ Gamma(q, γ)."""
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 84, n)
    T = (272 - first_day) / 7.0
    lam = rng.gamma(R, 1 / ALPHA, n)
    drop = rng.beta(A, B, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0, active.size) / lam[active]
        active = active[now[active] <= T[active]]
        x[active] += 1
        t_x[active] = now[active]
        active = active[rng.random(active.size) >= drop[active]]
    t_x = np.floor(t_x * 7) / 7  # whole days
    nu = rng.gamma(Q, 1 / GAMMA, n)
    repeat = x > 0
    zbar = np.zeros(n)
    zbar[repeat] = rng.gamma(P * x[repeat], 1 / (nu[repeat] * x[repeat]))
    return Customers(x=x, t_x=t_x, T=T, zbar=zbar)


def subset(c: Customers, n: int) -> Customers:
    return Customers(x=c.x[:n], t_x=c.t_x[:n], T=c.T[:n], zbar=c.zbar[:n])


# ---------------------------------------------------------------- the two implementations


def lojal_bgnbd_gg(c: Customers) -> dict[str, Any]:
    bg = fit_bgnbd(c.x, c.t_x, c.T).model
    gg = fit_gammagamma(c.x, c.zbar).model
    clv = discounted_purchases(
        bg, c.x, c.t_x, c.T, months=12, monthly_discount=0.01, units_per_month=WEEKS_PER_MONTH
    ) * gg.expected_spend(c.x, c.zbar)
    return {"params": [bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.gamma], "clv": clv}


def lojal_pareto(c: Customers) -> dict[str, Any]:
    m = fit_paretonbd(c.x, c.t_x, c.T).model
    return {"params": [m.r, m.alpha, m.s, m.beta]}


def lifetimes_bgnbd_gg(c: Customers) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    pd: Any = importlib.import_module("pandas")  # lifetimes' own dependency

    bg = BetaGeoFitter().fit(c.x, c.t_x, c.T)
    repeat = c.x > 0
    gg = GammaGammaFitter().fit(c.x[repeat], c.zbar[repeat])
    clv = gg.customer_lifetime_value(
        bg, pd.Series(c.x), pd.Series(c.t_x), pd.Series(c.T), pd.Series(c.zbar), time=12,
        discount_rate=0.01, freq="W",
    )  # fmt: skip
    p = bg.params_
    g = gg.params_
    return {
        "params": [p["r"], p["alpha"], p["a"], p["b"], g["p"], g["q"], g["v"]],
        "clv": clv.to_numpy(),
    }


def lifetimes_pareto(c: Customers) -> dict[str, Any]:
    from lifetimes import ParetoNBDFitter

    p = ParetoNBDFitter().fit(c.x, c.t_x, c.T).params_
    return {"params": [p["r"], p["alpha"], p["s"], p["beta"]]}


CPU: list[float] = []  # the CPU seconds of every lojal run, in order


def timed(fn: Callable[[Customers], dict[str, Any]], c: Customers) -> tuple[float, dict[str, Any]]:
    """Wall seconds (and the CPU seconds, kept in ``CPU``: on a shared machine the wall time
    also holds the time other processes had the cores)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(c)
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, out


def max_rel(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) / abs(y) for x, y in zip(a, b, strict=True))


def report(
    name: str, n: int, ours: list[float], theirs: float | None, theirs_cpu: float = 0.0
) -> None:
    median = statistics.median(ours)
    runs = ", ".join(f"{t:.2f}" for t in ours)
    cpu = statistics.median(CPU[-len(ours) :])
    line = f"{name:10} n={n:>9,}  lojal median {median:6.2f} s ({runs}; CPU {cpu:.2f} s)"
    if theirs is not None:
        line += f"   lifetimes {theirs:.2f} s (CPU {theirs_cpu:.2f} s)"
        line += f"   ratio {theirs / median:.1f}×"
        line += f" (CPU {theirs_cpu / cpu:.1f}×)"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lifetimes-pareto-customers", type=int, default=100_000)
    parser.add_argument("--no-lifetimes", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    info = machine()
    print(f"machine: {info}")
    started = time.perf_counter()
    everyone = synthetic(args.customers)
    print(
        f"drew {args.customers:,} customers in {time.perf_counter() - started:.1f} s: "
        f"{int((everyone.x > 0).sum()):,} with repeat purchases, mean x {everyone.x.mean():.2f}",
        flush=True,
    )
    have_lifetimes = not args.no_lifetimes
    if have_lifetimes:
        try:
            import lifetimes  # noqa: F401
        except ImportError:
            print("lifetimes is not installed: lojal only")
            have_lifetimes = False

    # BG/NBD + Gamma-Gamma + 12-month CLV
    theirs = None
    ref: dict[str, Any] = {}
    theirs_cpu = 0.0
    if have_lifetimes:
        theirs, ref = timed(lifetimes_bgnbd_gg, everyone)
        theirs_cpu = CPU[-1]
    ours = []
    out: dict[str, Any] = {}
    for _ in range(args.repeat):
        seconds, out = timed(lojal_bgnbd_gg, everyone)
        ours.append(seconds)
    if have_lifetimes:
        print(
            f"  parameters agree to {max_rel(out['params'], ref['params']):.1e} (relative), "
            f"CLV to {float(np.max(np.abs(out['clv'] - ref['clv']) / ref['clv'])):.1e}"
        )
    print("  lojal parameters r α a b p q γ:", " ".join(f"{v:.4f}" for v in out["params"]))
    report("bgnbd+gg", args.customers, ours, theirs, theirs_cpu)

    # Pareto/NBD
    sizes = [args.customers]
    if have_lifetimes and args.lifetimes_pareto_customers < args.customers:
        sizes.append(args.lifetimes_pareto_customers)
    for n in sizes:
        data = subset(everyone, n)
        theirs = None
        compare = have_lifetimes and n <= args.lifetimes_pareto_customers
        if compare:
            theirs, ref = timed(lifetimes_pareto, data)
            theirs_cpu = CPU[-1]
        ours = []
        for _ in range(args.repeat):
            seconds, out = timed(lojal_pareto, data)
            ours.append(seconds)
        if compare:
            print(f"  parameters agree to {max_rel(out['params'], ref['params']):.1e} (relative)")
        print("  lojal parameters r α s β:", " ".join(f"{v:.4f}" for v in out["params"]))
        report("paretonbd", n, ours, theirs, theirs_cpu)


if __name__ == "__main__":
    main()
