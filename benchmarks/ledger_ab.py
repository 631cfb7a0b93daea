"""The recording loops of ledger_bench.py against any checkout of pros, for before/after comparisons.

    git archive <commit> src tests benchmarks functions | tar -x -C /tmp/before
    python benchmarks/ledger_ab.py /tmp/before      # the code before a change
    python benchmarks/ledger_ab.py .                # this checkout
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14       # the default database, emptied after

Loads ``pros_cli`` and the test harness from ROOT (so it needs only what every version has: the
token processor's function, ``Ledger.submit`` and ``connect``) and prints one JSON line: per loop
(a plain redis-py PING, the function with EventGridEvents, ``Ledger.submit`` with dicts) the
median wall and client CPU per call and the server's time per command, and the median per-round
ratios to PING. Run it alternately against both trees: the machine is shared.
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
from typing import Any


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("root", help="a checkout of pros (src/, tests/, benchmarks/, functions/)")
    parser.add_argument("--calls", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    sys.path[:0] = [root, os.path.join(root, "src"), os.path.join(root, "benchmarks")]
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["REDIS_URL"] = url

    import redis
    from tests.functions.harness import as_delivered, module, processor

    from ledger_bench import _renamed, event
    from pros_cli.ledger import Ledger
    from pros_cli.ledger.connection import connect

    def server(client: Any, command: str) -> tuple[int, int]:
        stats = client.info("commandstats").get(f"cmdstat_{command}") or {"calls": 0, "usec": 0}
        return int(stats["calls"]), int(stats["usec"])

    n = args.calls
    rng = random.Random(1)
    today = dt.datetime.now(dt.UTC).date()
    events = [event(i, rng, today) for i in range(n)]
    ping_client, stats = redis.Redis.from_url(url), redis.Redis.from_url(url)
    stats.flushdb()
    function = processor()
    ledger = Ledger(connect(url))
    function(as_delivered(event(n + 1, rng, today)))
    ledger.submit(event(n + 2, rng, today))
    ping_client.ping()
    results: dict[str, list[tuple[float, float, float | None]]] = {"ping": [], "function": [], "submit": []}

    def loop(name: str, items: Any, call: Any, command: str) -> None:
        s0, c0, t0 = server(stats, command), time.process_time(), time.perf_counter()
        for item in items:
            call(item)
        wall, cpu, s1 = time.perf_counter() - t0, time.process_time() - c0, server(stats, command)
        calls = s1[0] - s0[0]
        results[name].append((wall / n * 1e6, cpu / n * 1e6, (s1[1] - s0[1]) / calls if calls == n else None))

    for r in range(args.rounds):
        order = ["ping", "function", "submit"]
        for name in order[r % 3 :] + order[: r % 3]:
            if name == "ping":
                loop(name, range(n), lambda _i: ping_client.ping(), "ping")
            elif name == "function":
                batch = [as_delivered(_renamed(e, f"{e['id']}-f{r}")) for e in events]
                loop(name, batch, function, "evalsha")
            else:
                loop(name, [_renamed(e, f"{e['id']}-s{r}") for e in events], ledger.submit, "evalsha")
    out: dict[str, Any] = {}
    for name, rows in results.items():
        served = [row[2] for row in rows if row[2] is not None]
        out[name] = {
            "wall_us": round(statistics.median(row[0] for row in rows), 1),
            "client_cpu_us": round(statistics.median(row[1] for row in rows), 1),
            "server_us": round(statistics.median(served), 1) if served else None,
        }
    for name in ("function", "submit"):
        ratios = [p[0] / e[0] for p, e in zip(results["ping"], results[name], strict=True)]
        out[f"ratio_{name}"] = round(statistics.median(ratios), 2)
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out))
    stats.flushdb()
    module().reset()


if __name__ == "__main__":
    main()
