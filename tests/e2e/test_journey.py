"""The operator's journey, end to end, with the installed ``pros`` executable against the simulator.

One deployment through its whole life, each step a child process as an operator (or CI) runs it:
``up --no-wait``, a resuming ``up``, ``status``, ``usage`` over events that went through the real
token processor into the local Redis, a settings change (a region added, then removed with
``--prune``), ``teardown --purge --yes``, and ``status`` once nothing is left. Every step: its exit
status, stdout that parses as JSON, and no traceback on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.redisdb import url_for

pytestmark = pytest.mark.subprocess

REDIS_DB = 11


def pros_executable() -> str:
    """The console script pip installed beside this interpreter (not `python -m pros_cli`)."""
    candidate = Path(sys.executable).with_name("pros")
    found = str(candidate) if candidate.exists() else shutil.which("pros")
    assert found, "the pros console script is not installed: pip install -e '.[test]'"
    return found


class Journey:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PROS_", "AZURE_"))} | {
            "PROS_CLOUD": "simulator",
            "PROS_SIMULATOR_FILE": str(workdir / "cloud" / "sim.json"),
            "AZURE_CONFIG_DIR": str(workdir / "azure-config"),
        }
        self.steps: list[str] = []

    def run(self, *args: str, expect: int = 0) -> Any:
        proc = subprocess.run(
            [pros_executable(), *args, "-o", "json"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        step = "pros " + " ".join(args)
        self.steps.append(step)
        assert "Traceback" not in proc.stderr, f"{step}: a traceback on stderr:\n{proc.stderr}"
        assert proc.returncode == expect, f"{step}: exit {proc.returncode}, expected {expect}\n{proc.stderr}"
        try:
            return json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"{step}: stdout is not JSON ({exc}):\n{proc.stdout[:2000]}") from None


def usage_event(request_id: str, when: dt.datetime, billing: str, prompt: int, completion: int) -> dict:
    return {
        "id": request_id,
        "eventType": "Pros.Usage.ModelCall",
        "subject": "/regions/eastus/apis/openai/operations/chat-completions",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "dataVersion": "1.0",
        "data": {
            "requestId": request_id,
            "source": "apim",
            "billingCode": billing,
            "companyName": "Contoso",
            "username": "jane@contoso.com",
            "region": "eastus",
            "gatewayRegion": "eastus",
            "model": "gpt-5.2",
            "deployment": "gpt-5.2",
            "api": "openai",
            "operation": "chat-completions",
            "status": 200,
            "latencyMs": 300,
            "streamed": False,
            "failover": False,
            "accuracy": "exact",
            "promptTokens": prompt,
            "completionTokens": completion,
            "totalTokens": prompt + completion,
        },
    }


def deliver_through_the_token_processor(redis_url: str, events: list[dict]) -> None:
    """Each event through the real token processor (its own module, found and called through
    azure-functions' registry with real EventGridEvent objects), as Event Grid would deliver it;
    the first one twice, as Event Grid may."""
    code = f"""
import json, os, sys
os.environ["REDIS_URL"] = {redis_url!r}
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from tests.functions.harness import deliver
events = json.loads(sys.stdin.read())
for body in [events[0], *events]:
    deliver(body)
"""
    subprocess.run([sys.executable, "-c", code], input=json.dumps(events), text=True, check=True, timeout=120)


def test_an_operator_runs_a_deployment_through_its_whole_life(tmp_path, redis_flushed):
    journey = Journey(tmp_path)

    started = journey.run("up", "--base-name", "demo", "--publisher-email", "ops@contoso.com", "--no-wait")
    assert started["result"] == "started"
    assert any(r["status"] == "started" for r in started["resources"])

    resumed = journey.run("up")
    assert resumed["result"] == "succeeded"
    assert not [r for r in resumed["resources"] if r["action"] == "create" and r["status"] != "succeeded"]
    again = journey.run("up")
    assert set(again["summary"]) == {"unchanged"}

    status = journey.run("status")
    assert status["healthy"] is True
    kinds = {row["kind"] for row in status["resources"]}
    assert {"API Management API policy", "function package", "Event Grid subscription"} <= kinds

    day = dt.datetime.now(dt.UTC).replace(microsecond=0)
    events = [
        usage_event(str(uuid.uuid4()), day, "CC-1", 120, 30),
        usage_event(str(uuid.uuid4()), day, "CC-1", 80, 20),
        usage_event(str(uuid.uuid4()), day, "CC-2", 10, 5),
    ]
    redis_url = url_for(REDIS_DB)
    deliver_through_the_token_processor(redis_url, events)
    report = journey.run(
        "usage",
        "--redis-url",
        redis_url,
        "--by",
        "billing_code",
        "--from",
        day.date().isoformat(),
        "--to",
        day.date().isoformat(),
    )
    rows = {row["billing_code"]: row for row in report["rows"]}
    assert rows["CC-1"]["requests"] == 2 and rows["CC-1"]["total_tokens"] == 250  # the duplicate counted once
    assert rows["CC-2"]["total_tokens"] == 15

    added = journey.run("up", "-l", "eastus", "-l", "westus", "-l", "westeurope")
    assert added["settings"][0]["name"] == "regions"
    assert any(r["region"] == "westeurope" and r["action"] == "create" for r in added["resources"])
    removed = journey.run("up", "-l", "eastus", "-l", "westus", "--prune")
    assert any(r["action"] == "delete" and r["status"] == "succeeded" for r in removed["resources"])
    assert journey.run("status")["healthy"] is True

    down = journey.run("teardown", "--purge", "--yes")
    assert down["result"] == "succeeded" and down["purged"] is True
    gone = journey.run("status")
    assert gone["resources"] == [] and gone["deleted"] is True


@pytest.fixture
def redis_flushed():
    import redis

    client = redis.Redis.from_url(url_for(REDIS_DB))
    client.flushdb()
    yield
    client.flushdb()
    client.close()
