"""Streaming function overhead: `python benchmarks/bench_streaming.py [--runs 30] [--json]`.

Time to first token and total time of a streamed chat completion, called with the official openai
library, (a) straight to the fake Azure OpenAI and (b) through the streaming function's real
handler (functions/openai_backend, under uvicorn) in front of the same fake, in one run on
loopback. Runs alternate between the two paths, after warm-up calls (the function's first call
fetches its managed identity token). The fake streams `--words` content chunks, `--delay-ms` apart,
with the usage chunk the function asks for; the function strips it (the caller did not ask) and
publishes each call's usage event to a fake Event Grid topic in the background.

Target: under 10 ms added to the first token (median). Speed is measured here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.functions.calls import API_VERSION, MESSAGES, gateway_headers  # noqa: E402
from tests.functions.conftest import function_api, registered_handler  # noqa: E402
from tests.functions.fakes import (  # noqa: E402
    IDENTITY_SECRET,
    OPENAI_AUDIENCE,
    FakeEventGrid,
    FakeIdentity,
    FakeOpenAI,
    make_token,
)
from tests.functions.loopback import Served, wait_until  # noqa: E402


def one_call(client: Any) -> tuple[float, float]:
    """(time to first token, total time) of one streamed completion, in milliseconds."""
    started = time.perf_counter()
    first = None
    for chunk in client.chat.completions.create(model="chat", messages=MESSAGES, stream=True):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
    done = time.perf_counter()
    assert first is not None
    return (first - started) * 1000, (done - started) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p95": p95(values), "min": min(values)}


def serve(role: str, words: int, delay_ms: float) -> None:
    """A child process: the fakes ("backend") or the function, until stdin closes."""
    if role == "backend":
        fake, identity, eventgrid = FakeOpenAI(), FakeIdentity(), FakeEventGrid()
        fake.words = [f" w{i}" for i in range(words)]
        fake.delay = delay_ms / 1000
        eventgrid.app.add_api_route("/count", lambda: {"events": len(eventgrid.events)}, methods=["GET"])
        servers = {
            "openai": Served(fake.app),
            "identity": Served(identity.app),
            "eventgrid": Served(eventgrid.app),
        }
    else:
        servers = {"function": Served(function_api(registered_handler()))}
    print(json.dumps({name: server.url for name, server in servers.items()}), flush=True)
    sys.stdin.readline()  # the parent's mark: warm-up over
    before = os.times()
    sys.stdin.read()
    # CPU seconds spent serving (every thread of the process), for the parent's per-call figure:
    # user (Python) and system (the kernel's share, loopback TCP included).
    after = os.times()
    used = {"user_s": after.user - before.user, "system_s": after.system - before.system}
    print(json.dumps(used), flush=True)
    for server in servers.values():
        server.stop()


def _child(role: str, words: int, delay_ms: float, env: dict[str, str]) -> tuple[subprocess.Popen, dict]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", role, "--words", str(words), "--delay-ms", str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


def run(runs: int, words: int, delay_ms: float, warmup: int) -> dict[str, Any]:
    import httpx
    import openai

    backend, urls = _child("backend", words, delay_ms, {})
    env = {
        "AZURE_OPENAI_ENDPOINT": urls["openai"] + "/",
        "PROS_REGION": "eastus",
        "PROS_EVENTGRID_ENDPOINT": urls["eventgrid"] + "/api/events",
        "IDENTITY_ENDPOINT": urls["identity"] + "/msi/token",
        "IDENTITY_HEADER": IDENTITY_SECRET,
    }
    function, function_urls = _child("function", words, delay_ms, env)
    try:
        direct = openai.AzureOpenAI(
            azure_endpoint=urls["openai"],
            api_version=API_VERSION,
            max_retries=0,
            azure_ad_token=make_token(OPENAI_AUDIENCE, 0),
        )
        via = openai.AzureOpenAI(
            azure_endpoint=function_urls["function"], api_version=API_VERSION, api_key="unused", max_retries=0
        )
        results: dict[str, list[tuple[float, float]]] = {"direct": [], "function": []}

        def count() -> int:
            return httpx.get(urls["eventgrid"] + "/count").json()["events"]

        calls = 0
        for i in range(warmup + runs):
            if i == warmup:
                wait_until(lambda: count() == warmup, what="the warm-up's usage events")
                for child in (function, backend):
                    assert child.stdin is not None
                    child.stdin.write("mark\n")
                    child.stdin.flush()
                calls = 0
            for name in ("direct", "function"):
                client = direct
                if name == "function":
                    client = via.with_options(default_headers=gateway_headers(f"bench-{i}"))
                    calls += 1
                timing = one_call(client)
                if i >= warmup:
                    results[name].append(timing)
        wait_until(lambda: count() == warmup + calls, what="every usage event")
        published = count() - warmup
    finally:
        cpu = {}
        for name, child in (("function", function), ("backend", backend)):
            assert child.stdin is not None and child.stdout is not None
            child.stdin.close()
            cpu[name] = json.loads(child.stdout.readline())
            child.wait(10)

    out: dict[str, Any] = {
        "function_cpu_ms_per_call": {k: 1000 * cpu["function"][f"{k}_s"] / calls for k in ("user", "system")},
        "backend_cpu_ms_per_call": {
            k: 1000 * cpu["backend"][f"{k}_s"] / (2 * calls) for k in ("user", "system")
        },
        "runs": runs,
        "words": words,
        "delay_ms": delay_ms,
        "events_published": published,
        "calls_through_function": calls,
    }
    for name, timings in results.items():
        out[name] = {
            "ttft_ms": summary([t for t, _ in timings]),
            "total_ms": summary([t for _, t in timings]),
        }
    pairs = list(zip(results["direct"], results["function"], strict=True))
    out["added_ttft_ms"] = {
        "median_of_differences": statistics.median(f[0] - d[0] for d, f in pairs),
        "difference_of_medians": out["function"]["ttft_ms"]["median"] - out["direct"]["ttft_ms"]["median"],
        "difference_of_p95s": out["function"]["ttft_ms"]["p95"] - out["direct"]["ttft_ms"]["p95"],
    }
    out["added_total_ms"] = {
        "median_of_differences": statistics.median(f[1] - d[1] for d, f in pairs),
        "difference_of_medians": out["function"]["total_ms"]["median"] - out["direct"]["total_ms"]["median"],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="measured calls per path")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls per path first")
    parser.add_argument("--words", type=int, default=20, help="content chunks per completion")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="the fake's pause between events")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--serve", choices=("backend", "function"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.words, args.delay_ms)
        return
    result = run(args.runs, args.words, args.delay_ms, args.warmup)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.runs} runs per path, {args.words} chunks {args.delay_ms:g} ms apart, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"{'path':10} {'TTFT median':>12} {'TTFT p95':>9} {'total median':>13} {'total p95':>10}")
    for name in ("direct", "function"):
        t, total = result[name]["ttft_ms"], result[name]["total_ms"]
        ttft = f"{t['median']:10.2f}ms {t['p95']:7.2f}ms"
        print(f"{name:10} {ttft} {total['median']:11.2f}ms {total['p95']:8.2f}ms")
    added = result["added_ttft_ms"]
    print(
        f"added to the first token: {added['median_of_differences']:.2f} ms (median of paired differences), "
        f"{added['difference_of_medians']:.2f} ms (difference of medians); target < 10 ms"
    )
    fcpu, bcpu = result["function_cpu_ms_per_call"], result["backend_cpu_ms_per_call"]
    print(
        f"CPU per call: function {fcpu['user']:.2f} ms user + {fcpu['system']:.2f} ms system (relay, event); "
        f"fake backend {bcpu['user']:.2f} + {bcpu['system']:.2f} ms"
    )
    print(
        f"added to the total: {result['added_total_ms']['median_of_differences']:.2f} ms; "
        f"usage events published: {result['events_published']}/{result['calls_through_function']}"
    )


if __name__ == "__main__":
    main()
