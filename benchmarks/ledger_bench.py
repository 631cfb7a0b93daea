"""Benchmarks of the usage ledger against the local Redis (a database of its own, emptied before
and after): recording throughput beside a PING loop, and report time and memory over 30 days.

    python benchmarks/ledger_bench.py              # both, results as a table
    python benchmarks/ledger_bench.py --json       # machine-readable
    python benchmarks/ledger_bench.py --skip-report --rounds 9   # throughput only
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14      # the default database

Throughput: the token processor's real function, one EventGridEvent per call, beside a plain
redis-py PING loop, in alternating rounds of the same run (the ratio is taken per round: the
machine is shared, so its median and spread are reported); CPU per call of this process (user and
system) and the server's own time per command (INFO commandstats) say where the time goes
independently of what else runs. A breakdown times each client stage without I/O.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import redis

from pros_cli.ledger import Ledger
from pros_cli.ledger.connection import connect
from pros_cli.ledger.report import build_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.functions.harness

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
FIRST_DAY = dt.date(2026, 10, 1)
DAYS = 30


def event(i: int, rng: random.Random, day: dt.date | None = None) -> dict[str, Any]:
    user = rng.randrange(1000)
    company = user % 50
    region = rng.choice(("eastus", "westus"))
    model, deployment = rng.choice((("gpt-4o", "chat"), ("text-embedding-3-small", "embeddings")))
    day = day or FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
    prompt, completion = rng.randrange(1, 4000), rng.randrange(0, 1500)
    event_id = f"bench-{i:08d}"
    return {
        "id": event_id,
        "eventType": "Pros.Usage.ModelCall",
        "subject": f"/regions/{region}/apis/openai/operations/chat-completions",
        "eventTime": f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z",
        "dataVersion": "1.0",
        "data": {
            "requestId": event_id,
            "source": "apim",
            "billingCode": f"BC-{company:02d}",
            "companyName": f"Company {company:02d}",
            "username": f"user{user:04d}@company{company:02d}.example",
            "region": region,
            "gatewayRegion": region,
            "model": model,
            "deployment": deployment,
            "api": "openai",
            "operation": "chat-completions",
            "status": 200,
            "latencyMs": rng.randrange(50, 3000),
            "streamed": False,
            "failover": False,
            "accuracy": "exact",
            "promptTokens": prompt,
            "completionTokens": completion,
            "totalTokens": prompt + completion,
            "cachedTokens": 0,
            "reasoningTokens": 0,
        },
    }


def _renamed(e: dict[str, Any], new_id: str) -> dict[str, Any]:
    return dict(e, id=new_id, data=dict(e["data"], requestId=new_id))


def _server_usec(client: Any, command: str) -> tuple[int, int]:
    stats = client.info("commandstats").get(f"cmdstat_{command}") or {"calls": 0, "usec": 0}
    return int(stats["calls"]), int(stats["usec"])


class Loop:
    """One timed loop of ``n`` calls: wall time, this process's CPU (user, system), and the
    server's own time for ``command`` from INFO commandstats. The server is shared: when the
    count of ``command`` calls in the window is not exactly ``n``, another client ran it too and
    the server time is not reported (None)."""

    def __init__(self, stats: Any, command: str, n: int):
        self.stats, self.command, self.n = stats, command, n

    def __enter__(self) -> Loop:
        self.s0 = _server_usec(self.stats, self.command)
        self.t0, self.c0 = os.times(), time.process_time()
        self.w0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.perf_counter() - self.w0
        cpu, t1 = time.process_time() - self.c0, os.times()
        s1 = _server_usec(self.stats, self.command)
        user, system = t1.user - self.t0.user, t1.system - self.t0.system
        share = user / (user + system) if user + system > 0 else 1.0  # os.times ticks, scaled to cpu
        self.per_second = self.n / self.wall
        self.wall_us = self.wall / self.n * 1e6
        self.user_us, self.system_us = cpu * share / self.n * 1e6, cpu * (1 - share) / self.n * 1e6
        calls = s1[0] - self.s0[0]
        self.server_us = (s1[1] - self.s0[1]) / calls if calls == self.n else None


def _delivered(events: list[dict[str, Any]]) -> list[Any]:
    from tests.functions.harness import as_delivered

    return [as_delivered(e) for e in events]


def throughput(url: str, n: int, rounds: int) -> dict[str, Any]:
    """Events per call as Functions delivers them, beside a one-client PING loop, same run.

    - PING: plain redis-py (``redis.Redis.from_url(url).ping()``), one call at a time.
    - function: the token processor's own decorated function, called with a real
      ``azure.functions.EventGridEvent`` per event (made beforehand by the library's converter,
      as the Functions worker makes it before the call), its client from REDIS_URL as in Azure.
    - submit: ``Ledger.submit`` with the event as a dict (what the function calls).
    - prepacked (reference, not a way to record): the same EVALSHAs packed before the loop and sent
      on the writer's kept connection: the script's server time and the transport with no
      per-event client work at all, i.e. the best ratio any client code could reach.
    - PING on a kept connection (reference): the writer's transport with nothing to do.
    Loops alternate in each round (their order rotates); the ratio is taken per round.
    """
    from tests.functions.harness import module, processor

    from pros_cli.ledger import encode, wire

    rng = random.Random(1)
    today = dt.datetime.now(dt.UTC).date()
    events = [event(i, rng, today) for i in range(n)]
    ping_client = redis.Redis.from_url(url)
    stats = redis.Redis.from_url(url)
    os.environ["REDIS_URL"] = url
    module().reset()
    function = processor()
    function(_delivered([event(n + 1, rng, today)])[0])  # connect, load the script
    ledger = Ledger(connect(url))
    kept = wire.KeptConnection(ping_client.connection_pool)
    ping_packed = wire.pack([b"PING"])
    ping_client.ping()
    ledger.submit(event(n + 2, rng, today))
    kept.round_trip(ping_packed)

    def ping_loop(_r: int) -> Loop:
        with Loop(stats, "ping", n) as loop:
            for _ in range(n):
                ping_client.ping()
        return loop

    def kept_loop(_r: int) -> Loop:
        with Loop(stats, "ping", n) as loop:
            for _ in range(n):
                kept.round_trip(ping_packed)
        return loop

    def function_loop(r: int) -> Loop:
        batch = _delivered([_renamed(e, f"{e['id']}-f{r}") for e in events])
        with Loop(stats, "evalsha", n) as loop:
            for delivery in batch:
                function(delivery)
        return loop

    def submit_loop(r: int) -> Loop:
        batch = [_renamed(e, f"{e['id']}-s{r}") for e in events]
        with Loop(stats, "evalsha", n) as loop:
            for e in batch:
                ledger.submit(e)
        return loop

    def prepacked_loop(r: int) -> Loop:
        recs = [ledger.prepare(_renamed(e, f"{e['id']}-p{r}")) for e in events]
        batch = [
            ledger._head(x.day, x.bucket) + encode.tail(x.id, x.dimensions, x.metrics, x.raw) for x in recs
        ]
        with Loop(stats, "evalsha", n) as loop:
            for command in batch:
                ledger._conn.round_trip(command)
        return loop

    loops = {
        "ping": ping_loop,
        "function": function_loop,
        "submit": submit_loop,
        "prepacked": prepacked_loop,
        "ping_kept": kept_loop,
    }
    results: dict[str, list[Loop]] = {name: [] for name in loops}
    load = [os.getloadavg()[0]]
    for r in range(rounds):
        names = list(loops)
        names = names[r % len(names) :] + names[: r % len(names)]
        for name in names:
            results[name].append(loops[name](r))
    load.append(os.getloadavg()[0])
    kept.close()
    ledger.close()
    module().reset()

    def summary(name: str) -> dict[str, Any]:
        rs = results[name]
        server = [x.server_us for x in rs if x.server_us is not None]
        return {
            "per_second": round(statistics.median(x.per_second for x in rs)),
            "wall_us": round(statistics.median(x.wall_us for x in rs), 1),
            "client_user_us": round(statistics.median(x.user_us for x in rs), 1),
            "client_system_us": round(statistics.median(x.system_us for x in rs), 1),
            "server_us": round(statistics.median(server), 1) if server else None,
            "server_rounds": len(server),
        }

    def ratios(name: str, base: str = "ping") -> dict[str, float]:
        values = sorted(p.wall / e.wall for p, e in zip(results[base], results[name], strict=True))
        return {"median": round(statistics.median(values), 2), "min": round(values[0], 2),
                "max": round(values[-1], 2)}  # fmt: skip

    return {
        "calls_per_loop": n,
        "rounds": rounds,
        "loops": {name: summary(name) for name in loops},
        "ratio": ratios("function"),
        "ratio_submit": ratios("submit"),
        "ratio_prepacked": ratios("prepacked"),
        "load_average": [round(x, 1) for x in load],
    }


def breakdown(url: str, n: int = 5_000) -> dict[str, dict[str, float]]:
    """Client CPU per event of each stage of the function's path (microseconds, median of 5 passes
    over ``n`` different events): alone ("hot"), and between round trips ("in situ": each call
    after a PING on the writer's kept connection, less the PING alone), where the caches are cold
    after every system call and after the server ran."""
    from tests.functions.harness import module

    from pros_cli.ledger import encode, wire
    from pros_cli.ledger.validate import check_invariants, check_schema, quick_check

    rng = random.Random(3)
    events = [event(i, rng, dt.datetime.now(dt.UTC).date()) for i in range(n)]
    deliveries = _delivered(events)
    event_dict = module().event_dict
    ledger = Ledger(redis.Redis())  # nothing is sent
    recs = [ledger.prepare(e) for e in events]
    now = ledger.clock()
    stages: dict[str, tuple[Any, list[Any]]] = {
        "nothing (the PING alone, in situ)": (lambda _x: None, events),
        "event_dict (EventGridEvent -> contract dict)": (event_dict, deliveries),
        "validation, quick path": (lambda e: quick_check(e, now), events),
        "validation, full checks (not taken by a valid event)": (
            lambda e: check_invariants(e, now, check_schema(e)),
            events,
        ),
        "raw event as JSON (audit stream)": (encode.raw_json, events),
        "raw event as JSON, standard library": (encode.raw_json_stdlib, events),
        "prepare (validation + JSON + counters + bucket)": (ledger.prepare, events),
        "pack the EVALSHA (cached head + per-event arguments)": (
            lambda r: ledger._head(r.day, r.bucket) + encode.tail(r.id, r.dimensions, r.metrics, r.raw),
            recs,
        ),
    }
    client = redis.Redis.from_url(url)
    kept = wire.KeptConnection(client.connection_pool)
    ping = wire.pack([b"PING"])

    def per_event(fn: Any, items: list[Any], trip: bool) -> float:
        times = []
        for _ in range(5):
            c0 = time.process_time()
            if trip:
                for item in items:
                    kept.round_trip(ping)
                    fn(item)
            else:
                for item in items:
                    fn(item)
            times.append(time.process_time() - c0)
        return statistics.median(times) / len(items) * 1e6

    alone = {name: per_event(fn, items, False) for name, (fn, items) in stages.items()}
    between = {name: per_event(fn, items, True) for name, (fn, items) in stages.items()}
    trip = between.pop("nothing (the PING alone, in situ)")
    alone.pop("nothing (the PING alone, in situ)")
    kept.close()
    client.close()
    out = {name: {"hot": round(alone[name], 2), "in_situ": round(between[name] - trip, 2)} for name in alone}
    out["PING on the kept connection (for scale)"] = {"hot": 0.0, "in_situ": round(trip, 2)}
    return out


def load(ledger: Ledger, start: int, stop: int, rng: random.Random) -> float:
    t0 = time.perf_counter()
    chunk = 20_000
    for lo in range(start, stop, chunk):
        batch = (ledger.prepare(event(i, rng)) for i in range(lo, min(stop, lo + chunk)))
        ledger.record_many(batch, batch=1000)
    return time.perf_counter() - t0


def report_once(client: Any, *, trace: bool = False) -> tuple[float, int, int]:
    """One report by billing code over the 30 days: seconds, peak bytes (with trace), requests."""
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    result = build_report(client, FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS - 1), by=["billing_code"])
    elapsed = time.perf_counter() - t0
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return elapsed, peak, result.totals["requests"]


def reports(client: Any, total: int, step: int) -> list[dict[str, Any]]:
    """Load ``step`` events, report; then up to ``total`` events, report again (same run)."""
    # The audit stream is capped low here: a report never reads it, and the shared server's
    # memory stays small. Every other part of the recording script runs as in production.
    ledger = Ledger(client, stream_maxlen=100)
    rng = random.Random(2)
    rows = []
    loaded = 0
    for target in (step, total):
        seconds = load(ledger, loaded, target, rng)
        loaded = target
        runs = [report_once(client) for _ in range(5)]  # timed without tracemalloc's overhead
        elapsed = statistics.median(r[0] for r in runs)
        _, peak, _ = report_once(client, trace=True)
        rows.append(
            {
                "events": loaded,
                "load_seconds": round(seconds, 1),
                "report_seconds": round(elapsed, 3),
                "peak_memory_mib": round(peak / 2**20, 2),
                "requests_counted": runs[0][2],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--first", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    client.flushdb()
    try:
        result: dict[str, Any] = {"throughput": throughput(URL, args.calls, args.rounds)}
        client.flushdb()
        result["breakdown_us"] = breakdown(URL)
        if not args.skip_report:
            result["report"] = reports(client, args.events, args.first)
    finally:
        client.flushdb()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    t = result["throughput"]
    r = t["ratio"]
    print(
        f"ratio, function / PING (median of {t['rounds']} rounds): {r['median']} "
        f"(min {r['min']}, max {r['max']}); Ledger.submit: {t['ratio_submit']['median']}; "
        f"prepacked (no client work per event): {t['ratio_prepacked']['median']} "
        f"(load average {t['load_average']})"
    )
    for name, x in t["loops"].items():
        print(
            f"  {name:10} {x['per_second']:>7,}/s  wall {x['wall_us']:>6} us  client CPU user "
            f"{x['client_user_us']:>5} + system {x['client_system_us']:>5} us  server {x['server_us']} us"
        )
    print("  client CPU per event by stage, alone / between round trips:")
    for name, us in result["breakdown_us"].items():
        print(f"  {us['hot']:6.2f} / {us['in_situ']:6.2f} us  {name}")
    for row in result.get("report", []):
        print(
            f"{row['events']:>9,} events (loaded in {row['load_seconds']} s): report by billing code over "
            f"{DAYS} days {row['report_seconds']} s, peak {row['peak_memory_mib']} MiB, "
            f"{row['requests_counted']:,} requests counted"
        )


if __name__ == "__main__":
    main()
