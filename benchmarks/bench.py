"""pros benchmarks, all from one run: `python benchmarks/bench.py [--write docs/benchmarks.md]`.

1. Start-up: `pros --help` against a minimal one-command Typer app's `--help` (median of N runs of
   each, alternating, in fresh interpreters). Target: ratio <= 1.3. Both apps offer shell
   completion (Typer's --install-completion/--show-completion); a completion request (what the
   shell runs at each TAB) is timed the same way against the same minimal app.
2. Requests of a no-op re-provision against the simulator (what a second `pros provision` costs).
3. Provision wall time against the simulator's "realistic" latency profile (APIM slowest by far):
   the ratio to the critical path of the resource graph (target <= 1.15) and to --parallelism 1.
4. `pros up` (the whole deployment: provision, backends, policies, deploy-functions in one graph)
   against the four commands run one after another, and against the whole graph's critical path,
   same run, realistic profile. Targets: below the sequential time, within 1.1 of the critical path.

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMAL_APP = '''
import typer

app = typer.Typer()  # shell completion on, as pros has it


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    print(f"hello {name}")


if __name__ == "__main__":
    app()
'''


def _time_command(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def bench_help(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        pros = [sys.executable, "-m", "pros_cli", "--help"]
        base = [sys.executable, str(minimal), "--help"]
        for argv in (pros, base):  # warm the file cache once
            _time_command(argv)
        pros_times, base_times = [], []
        for _ in range(runs):
            pros_times.append(_time_command(pros))
            base_times.append(_time_command(base))
        complete = {"COMP_WORDS": "pros prov", "COMP_CWORD": "1", "_PROS_COMPLETE": "complete_bash"}
        complete_base = {
            "COMP_WORDS": "minimal_app.py he",
            "COMP_CWORD": "1",
            "_MINIMAL_APP.PY_COMPLETE": "complete_bash",
        }
        pros_tab = [sys.executable, "-m", "pros_cli"]
        pros_c, base_c = [], []
        for _ in range(runs):
            pros_c.append(_time_command(pros_tab, env={**os.environ, **complete}))
            base_c.append(_time_command([sys.executable, str(minimal)], env={**os.environ, **complete_base}))
    p, b = statistics.median(pros_times), statistics.median(base_times)
    pc, bc = statistics.median(pros_c), statistics.median(base_c)
    return {
        "pros_help_s": p,
        "minimal_help_s": b,
        "ratio": p / b,
        "pros_complete_s": pc,
        "minimal_complete_s": bc,
        "complete_ratio": pc / bc,
    }


def _pros(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pros_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _sim_env(tmp: Path, profile: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROS_", "AZURE_"))}
    env.update(
        {
            "PROS_CLOUD": "simulator",
            "PROS_SIMULATOR_FILE": str(tmp / "cloud.json"),
            "PROS_SIMULATOR_PROFILE": profile,
            "AZURE_CONFIG_DIR": str(tmp / "az"),
        }
    )
    return env


def bench_noop_requests() -> dict[str, int]:
    from pros_cli.simulator.core import Simulator

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = _sim_env(tmp, "instant")
        first = _pros(["provision", "--base-name", "bench", "--quiet"], tmp, env)
        if first.returncode != 0:
            raise SystemExit(f"provision failed: {first.stderr}")
        sim = Simulator(path=tmp / "cloud.json")
        before = len(sim.log_entries())
        second = _pros(["provision", "--base-name", "bench", "--quiet"], tmp, env)
        if second.returncode != 0:
            raise SystemExit(f"re-provision failed: {second.stderr}")
        entries = sim.log_entries()[before:]
        return {
            "first_provision_requests": before,
            "noop_requests": len(entries),
            "noop_writes": sum(1 for e in entries if e["method"] in ("PUT", "PATCH", "DELETE")),
        }


def _critical_path(resources: list, profile_name: str) -> float:
    """The longest chain of work through ``resources`` under a latency profile: for each resource,
    the request that starts it plus, for a long-running create, the time Azure (here: the
    simulator's profile) takes to finish it. No client overhead at all: the floor any tool meets."""
    from pros_cli.simulator.core import Simulator
    from pros_cli.simulator.profiles import PROFILES

    profile = PROFILES[profile_name]
    types = Simulator().types
    keys = {r.key for r in resources}
    finish: dict[str, float] = {}
    pending = list(resources)
    while pending:  # listed dependencies-first, but be safe about the order
        r = pending.pop(0)
        if any(d in keys and d not in finish for d in r.depends_on):
            pending.append(r)
            continue
        own = profile.request_seconds
        type_spec = types.get(r.arm_type.lower())
        if type_spec is not None and type_spec.create_mode != "sync":
            own += profile.for_type(type_spec.latency_key or r.arm_type, "create").seconds
        finish[r.key] = own + max((finish.get(d, 0.0) for d in r.depends_on), default=0.0)
    return max(finish.values())


def _bench_spec(base_name: str):
    from pros_cli.simulator.core import DEFAULT_SUBSCRIPTION
    from pros_cli.spec import build_spec

    return build_spec(base_name=base_name, subscription_id=DEFAULT_SUBSCRIPTION)


def critical_path_seconds(profile_name: str, base_name: str = "bench") -> float:
    """The critical path of what `pros provision` makes."""
    from pros_cli.resources.graph import build_resources

    return _critical_path(list(build_resources(_bench_spec(base_name))), profile_name)


def critical_path_whole(profile_name: str, base_name: str = "bench") -> float:
    """The critical path of everything `pros up` makes (provision, backends, policies and
    deploy-functions in one graph)."""
    from pros_cli.resources.graph import full_graph

    return _critical_path(list(full_graph(_bench_spec(base_name))), profile_name)


def bench_up_wall(profile: str) -> dict[str, float]:
    """`pros up` against provision, backends, policies and deploy-functions one after another."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        start = time.perf_counter()
        run = _pros(["up", "--base-name", "bench", "--quiet"], tmp, _sim_env(tmp, profile))
        results["up_s"] = time.perf_counter() - start
        if run.returncode != 0:
            raise SystemExit(f"pros up failed: {run.stderr}")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = _sim_env(tmp, profile)
        start = time.perf_counter()
        for command in (
            ["provision", "--base-name", "bench"],
            ["backends"],
            ["policies"],
            ["deploy-functions"],
        ):
            run = _pros([*command, "--quiet"], tmp, env)
            if run.returncode != 0:
                raise SystemExit(f"pros {command[0]} failed: {run.stderr}")
        results["four_commands_s"] = time.perf_counter() - start
    results["critical_path_s"] = critical_path_whole(profile)
    results["ratio_to_critical_path"] = results["up_s"] / results["critical_path_s"]
    results["ratio_to_four_commands"] = results["up_s"] / results["four_commands_s"]
    return results


def bench_provision_wall(profile: str) -> dict[str, float]:
    results: dict[str, float] = {}
    for label, extra in (("default", []), ("parallelism_1", ["--parallelism", "1"])):
        with tempfile.TemporaryDirectory() as tmp_s:
            tmp = Path(tmp_s)
            start = time.perf_counter()
            run = _pros(["provision", "--base-name", "bench", "--quiet", *extra], tmp, _sim_env(tmp, profile))
            elapsed = time.perf_counter() - start
            if run.returncode != 0:
                raise SystemExit(f"provision ({label}) failed: {run.stderr}")
            results[f"{label}_s"] = elapsed
    results["critical_path_s"] = critical_path_seconds(profile)
    results["overhead_s"] = results["default_s"] - results["critical_path_s"]
    results["ratio_to_critical_path"] = results["default_s"] / results["critical_path_s"]
    results["speedup_vs_parallelism_1"] = results["parallelism_1_s"] / results["default_s"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs of each --help command")
    parser.add_argument("--profile", default="realistic", help="simulator latency profile for provision")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    results = {
        "help": bench_help(args.runs),
        "noop_reprovision": bench_noop_requests(),
        "provision_wall": bench_provision_wall(args.profile),
        "up_wall": bench_up_wall(args.profile),
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    h, n, w = results["help"], results["noop_reprovision"], results["provision_wall"]
    print(f"pros --help:            {h['pros_help_s'] * 1000:7.1f} ms (median of {args.runs})")
    print(f"minimal Typer --help:   {h['minimal_help_s'] * 1000:7.1f} ms")
    print(f"ratio:                  {h['ratio']:7.2f}  (target <= 1.30)")
    print(
        f"pros TAB completion:    {h['pros_complete_s'] * 1000:7.1f} ms, minimal Typer "
        f"{h['minimal_complete_s'] * 1000:.1f} ms (ratio {h['complete_ratio']:.2f})"
    )
    print(f"first provision:        {n['first_provision_requests']:7d} requests")
    print(f"no-op re-provision:     {n['noop_requests']:7d} requests, {n['noop_writes']} writes")
    print(f"provision wall ({args.profile}): {w['default_s']:6.2f} s")
    print(f"critical path:          {w['critical_path_s']:7.2f} s")
    print(f"ratio to critical path: {w['ratio_to_critical_path']:7.2f}  (target <= 1.15)")
    overhead = w["overhead_s"]
    print(f"pros overhead:          {overhead:7.2f} s  (start-up, SDK imports, plan; independent of scale)")
    slower = w["speedup_vs_parallelism_1"]
    print(f"--parallelism 1:        {w['parallelism_1_s']:7.2f} s  ({slower:.2f}x slower)")
    u = results["up_wall"]
    print(f"pros up ({args.profile}):  {u['up_s']:7.2f} s")
    four, path = u["ratio_to_four_commands"], u["ratio_to_critical_path"]
    print(f"four commands in turn:  {u['four_commands_s']:7.2f} s  (up / four = {four:.2f})")
    print(f"whole critical path:    {u['critical_path_s']:7.2f} s  (up / path = {path:.2f}, target <= 1.1)")


if __name__ == "__main__":
    main()
