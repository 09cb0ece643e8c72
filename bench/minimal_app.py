"""The baselines for ``bench_api``: a minimal FastAPI app with one endpoint that inserts one row
into a SQLite table per request.

* ``sync`` (the default): the usual way — a sync endpoint, SQLAlchemy, lojal's own engine (so
  the same pragmas: WAL, synchronous=NORMAL, foreign keys, busy timeout, ``BEGIN IMMEDIATE``);
* ``async``: the framework's floor — an async endpoint inserting with the sqlite3 connection
  on the event loop (no thread pool, no lock contention), same pragmas;
* ``validate``: the floor for ``bench_coupons`` — an async ``POST /api/v1/coupons/validate``
  that parses the same body into a pydantic model, reads the code's row from lojal's
  ``coupon_codes`` (one indexed read on the event loop) and answers ``{"valid": true, ...}``;
  no API key, no campaign rules, no guard, no basket arithmetic.

Run: ``python -m bench.minimal_app DATABASE_URL PORT [sync|async] [on|off]`` (uvicorn with the
settings of ``lojal serve``: one process, ``log_level="info"``, the access log on or off).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from lojal.db.engine import make_engine

metadata = MetaData()
orders = Table(
    "bench_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", String(128), unique=True, nullable=False),
    Column("recorded_at", String(32), nullable=False),
)


class CheckIn(BaseModel):
    code: str
    channel: str
    store_id: str | None = None
    basket: dict[str, Any]


class OrderIn(BaseModel):
    order_id: str
    lines: list[dict[str, Any]] = []


def create_app(url: str, mode: str = "sync") -> FastAPI:
    engine = make_engine(url)
    metadata.create_all(engine)
    app = FastAPI()
    if mode == "validate":
        reader: Any = engine.raw_connection().driver_connection

        @app.post("/api/v1/coupons/validate")
        async def validate_on_loop(body: CheckIn) -> dict[str, Any]:
            code = body.code.replace("-", "").replace(" ", "").upper()
            row = reader.execute(
                "SELECT id, uses FROM coupon_codes WHERE code = ?", (code,)
            ).fetchone()
            return {"code": body.code, "valid": row is not None, "uses": row and row[1]}

    elif mode == "async":
        raw: Any = engine.raw_connection().driver_connection

        @app.post("/api/v1/purchases", status_code=201)
        async def record_on_loop(body: OrderIn) -> dict[str, Any]:
            raw.execute("BEGIN IMMEDIATE")
            cursor = raw.execute(
                "INSERT INTO bench_orders (order_id, recorded_at) VALUES (?, ?)",
                (body.order_id, datetime.now(UTC).isoformat()),
            )
            raw.execute("COMMIT")
            return {"id": cursor.lastrowid, "order_id": body.order_id}

    else:

        @app.post("/api/v1/purchases", status_code=201)
        def record(body: OrderIn) -> dict[str, Any]:
            with engine.begin() as conn:
                key = conn.execute(
                    insert(orders).values(
                        order_id=body.order_id, recorded_at=datetime.now(UTC).isoformat()
                    )
                ).inserted_primary_key
            assert key is not None
            row_id = key[0]
            return {"id": row_id, "order_id": body.order_id}

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    url, port = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "sync"
    access_log = (sys.argv[4] if len(sys.argv) > 4 else "on") == "on"
    uvicorn.run(
        create_app(url, mode),
        host="127.0.0.1",
        port=port,
        log_level="info",
        access_log=access_log,
    )


if __name__ == "__main__":
    main()
