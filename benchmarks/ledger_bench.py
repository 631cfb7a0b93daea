"""Benchmarks of the usage ledger against the local Redis (a database of its own, emptied before
and after): recording throughput beside a PING loop, and report time and memory over 30 days.

    python benchmarks/ledger_bench.py              # both, results as a table
    python benchmarks/ledger_bench.py --json       # machine-readable
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14      # the default database
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import time
import tracemalloc
from typing import Any

import redis

from pros_cli.ledger import Ledger
from pros_cli.ledger.report import build_report

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


def throughput(client: Any, n: int) -> dict[str, Any]:
    """One event per call through Ledger.submit (validate + one EVALSHA), as Functions delivers
    them, beside a one-client PING loop on the same connection pool. Wall time gives the ratio;
    CPU time (this process, and the server's own per-command time from INFO commandstats) says
    where it goes, independently of what else the machine runs."""
    rng = random.Random(1)
    today = dt.datetime.now(dt.UTC).date()
    events = [event(i, rng, today) for i in range(n)]
    ledger = Ledger(client)
    ledger.submit(event(n + 1, rng, today))  # load the script, open the connection
    client.ping()
    rounds = []
    for r in range(3):
        s0, c0, t0 = _server_usec(client, "ping"), time.process_time(), time.perf_counter()
        for _ in range(n):
            client.ping()
        wall, cpu, s1 = time.perf_counter() - t0, time.process_time() - c0, _server_usec(client, "ping")
        ping = (n / wall, cpu / n * 1e6, (s1[1] - s0[1]) / max(1, s1[0] - s0[0]))
        batch = [_renamed(e, f"{e['id']}-{r}") for e in events]
        s0, c0, t0 = _server_usec(client, "evalsha"), time.process_time(), time.perf_counter()
        for e in batch:
            ledger.submit(e)
        wall, cpu, s1 = time.perf_counter() - t0, time.process_time() - c0, _server_usec(client, "evalsha")
        rec = (n / wall, cpu / n * 1e6, (s1[1] - s0[1]) / max(1, s1[0] - s0[0]))
        rounds.append((ping, rec))

    def med(side: int, i: int) -> float:
        return statistics.median(r[side][i] for r in rounds)

    return {
        "events_per_second": round(med(1, 0)),
        "pings_per_second": round(med(0, 0)),
        "ratio": round(med(1, 0) / med(0, 0), 2),
        "client_cpu_us": {"event": round(med(1, 1), 1), "ping": round(med(0, 1), 1)},
        "server_us": {"event": round(med(1, 2), 1), "ping": round(med(0, 2), 1)},
        "cpu_ratio": round((med(0, 1) + med(0, 2)) / (med(1, 1) + med(1, 2)), 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


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
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    client.flushdb()
    try:
        result: dict[str, Any] = {"throughput": throughput(client, args.calls)}
        client.flushdb()
        if not args.skip_report:
            result["report"] = reports(client, args.events, args.first)
    finally:
        client.flushdb()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    t = result["throughput"]
    print(
        f"recording: {t['events_per_second']:,} events/s; PING loop: {t['pings_per_second']:,}/s; "
        f"ratio {t['ratio']} (load average {t['load_average']})\n"
        f"  CPU per call, client + server: event {t['client_cpu_us']['event']} + "
        f"{t['server_us']['event']} us, PING {t['client_cpu_us']['ping']} + {t['server_us']['ping']} us; "
        f"CPU ratio {t['cpu_ratio']}"
    )
    for row in result.get("report", []):
        print(
            f"{row['events']:>9,} events (loaded in {row['load_seconds']} s): report by billing code over "
            f"{DAYS} days {row['report_seconds']} s, peak {row['peak_memory_mib']} MiB, "
            f"{row['requests_counted']:,} requests counted"
        )


if __name__ == "__main__":
    main()
