"""The echo is a replay: the script ``--emit-script`` writes, run by bash and the real azure-cli
against an empty simulator, builds the deployment pros built, and runs again without failing.

pros runs against simulator A (the test's own cloud file) and writes the script; the harness runs
it verbatim with bash, every ``az`` line executed by azure-cli in the az venv with its HTTP routed
to an empty in-memory simulator B. Then A and B are held against each other through pros's own
resource kinds: the same resource ids, equal managed fields and tags (field by field), and pros's
own diff of B against the desired state is empty.
"""

from __future__ import annotations

import pytest

from tests.conftest import assert_no_secrets

pytestmark = pytest.mark.replay


def _replay_twice(pros, sim, replay, *args: str) -> None:
    run = pros(*args, "--emit-script", "replay.sh", "-o", "json")
    assert run.code == 0, run.err
    script = sim.path.parent.parent / "replay.sh"
    first = replay.run(script)
    assert first.code == 0, first.explain()
    problems = replay.differences(sim)
    assert not problems, "the replay differs from pros's run:\n" + "\n".join(problems)
    again = replay.run(script)
    assert again.code == 0, "a second replay failed: " + again.explain()
    assert not replay.differences(sim)
    assert_no_secrets(first.out, first.err, again.out, again.err, script.read_text())


def test_default_deployment(pros, sim, replay, no_secret_leaks):
    _replay_twice(pros, sim, replay, "provision", "--base-name", "demo")
