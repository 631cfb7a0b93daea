"""Fixtures for the policy judges: compiled policies (one per option set, built once per session)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pros_cli.policy import PolicyOptions, render_api_policy
from tests.policy.csharp_harness import CompiledPolicy, compile_policy

ALL_OPTIONS = [
    PolicyOptions(
        tokens_per_minute=tpm, monthly_token_quota=quota, require_billing_code=require, streaming_function=sf
    )
    for tpm, quota, require, sf in itertools.product(
        [None, 20000], [None, 5_000_000], [False, True], [True, False]
    )
]


def option_id(options: PolicyOptions) -> str:
    return (
        f"tpm={options.tokens_per_minute}-quota={options.monthly_token_quota}"
        f"-billing={'required' if options.require_billing_code else 'optional'}"
        f"-{'functions' if options.streaming_function else 'nofunctions'}"
    )


class PolicyBuilds:
    def __init__(self, root: Path):
        self.root = root
        self.built: dict[PolicyOptions, CompiledPolicy] = {}

    def __call__(self, options: PolicyOptions | None = None) -> CompiledPolicy:
        options = options or PolicyOptions()
        if options not in self.built:
            self.built[options] = compile_policy(render_api_policy(options), self.root / option_id(options))
        return self.built[options]


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> PolicyBuilds:
    """compiled(options) -> the rendered policy compiled with mcs, ready to run scenarios."""
    return PolicyBuilds(tmp_path_factory.mktemp("policies"))
