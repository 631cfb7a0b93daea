"""``pros policies``: the API-level policy of the OpenAI API on every gateway.

``pros policies`` writes it where it differs; ``--dry-run`` prints a unified diff from each live
policy to the rendered one instead (``-o json``: the diff text per gateway); ``pros policies
render [--out DIR]`` renders the policy (and, with ``--out``, writes the API definition beside it)
without touching Azure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.backends import CONFIG_OPTION, SPEC_FILE_OPTION
from pros_cli.cli.context import App


@options.command
def policies(
    app: App,
    action: Annotated[
        str | None,
        typer.Argument(
            metavar="render",
            help="render: print the policy (or write it and the API definition into --out DIR) "
            "without touching Azure.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="With render: write the policy and the API definition here."
        ),
    ] = None,
    tokens_per_minute: Annotated[
        int | None,
        typer.Option(
            "--tokens-per-minute", metavar="N", help="Token limit per minute for each billing code."
        ),
    ] = None,
    monthly_token_quota: Annotated[
        int | None,
        typer.Option(
            "--monthly-token-quota", metavar="N", help="Token quota per month for each billing code."
        ),
    ] = None,
    require_billing_code: Annotated[
        bool | None,
        typer.Option(
            "--require-billing-code/--no-require-billing-code",
            help="Refuse calls without a billingCode query parameter with 400 (default: allow them).",
        ),
    ] = None,
    streaming_function: Annotated[
        bool | None,
        typer.Option(
            "--streaming-function/--no-streaming-function",
            help="Send streamed calls to the regional streaming functions, which count their tokens "
            "exactly (default); without it they go to the OpenAI pool and are estimated.",
        ),
    ] = None,
    spec_file: Annotated[Path | None, SPEC_FILE_OPTION] = None,
    config: Annotated[Path | None, CONFIG_OPTION] = None,
) -> int:
    from pros_cli.errors import UsageError

    app.check()
    if action not in (None, "render"):
        raise UsageError(f"unknown action {action!r}", hint="pros policies [render [--out DIR]]")
    overrides = {
        "tokens_per_minute": tokens_per_minute,
        "monthly_token_quota": monthly_token_quota,
        "require_billing_code": require_billing_code,
        "streaming_function": streaming_function,
        "spec_file": str(spec_file.resolve()) if spec_file is not None else None,
    }
    if action == "render":
        return _render(app, overrides, config, out)
    if out is not None:
        raise UsageError("--out goes with render", hint="pros policies render --out DIR")
    return _apply(app, overrides, config)


def _render(app: App, overrides: dict[str, Any], config: Path | None, out: Path | None) -> int:
    """No Azure and no credentials: the recorded deployment's settings when there is one, else the
    defaults, then --config and the options."""
    from pros_cli.cli import render
    from pros_cli.cli.deployment import deployment_spec
    from pros_cli.config import load_config
    from pros_cli.policy import PolicyOptions, render_api_policy, write_rendered
    from pros_cli.resources.gateway_graph import definition_path, policy_options
    from pros_cli.spec import build_spec

    if app.base_name(required=False) is not None and _recorded(app):
        spec = deployment_spec(app, overrides=overrides, config=config)
    else:
        settings = load_config(config) if config is not None else {}
        settings.update({k: v for k, v in overrides.items() if v is not None})
        from pros_cli.spec import OFFLINE_SUBSCRIPTION

        spec = build_spec(base_name="render", subscription_id=OFFLINE_SUBSCRIPTION, **settings)
    chosen: PolicyOptions = policy_options(spec)
    if out is None:
        text = render_api_policy(chosen)
        if app.json:
            render.print_json({"policy": text})
        else:
            app.out(text)
        return 0
    written = write_rendered(out, chosen, definition_path(spec))
    if app.json:
        render.print_json({"files": [str(p) for p in written]})
    else:
        app.out("\n".join(str(p) for p in written))
    return 0


def _recorded(app: App) -> bool:
    from pros_cli.state import load_state_file

    base = app.base_name(required=False)
    data = load_state_file(app.state_path(str(base))) if base else None
    return bool((data or {}).get("spec"))


def _apply(app: App, overrides: dict[str, Any], config: Path | None) -> int:
    from pros_cli.cli.backends import show_result
    from pros_cli.cli.deployment import deployment_spec
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.resources.gateway_graph import command_graph

    spec = deployment_spec(app, overrides=overrides, config=config)
    resources, scope = command_graph(spec, "policies")
    s = app.settings
    result = converge(
        app, spec, resources, RunOptions(dry_run=s.dry_run, parallelism=s.parallelism, scope=scope)
    )
    return show_result(
        app, spec, result, command="policies", dry_run_data=lambda: _print_diffs(app, result.plan)
    )


def policy_diffs(plan: Any) -> list[dict[str, Any]]:
    """For each gateway: its service, region, the planned action and the unified diff from the
    live policy to the rendered one (empty when they are the same)."""
    from pros_cli.resources.apim_policy import ApiPolicy

    out = []
    for change in plan.in_scope:
        r = change.resource
        if not isinstance(r, ApiPolicy):
            continue
        out.append(
            {
                "region": r.region,
                "service": r.service,
                "action": change.action,
                "diff": r.unified_diff(change.current),
            }
        )
    return out


def _print_diffs(app: App, plan: Any) -> None:
    from pros_cli.cli import render

    diffs = policy_diffs(plan)
    if app.json:
        render.print_json({"gateways": diffs, "summary": plan.counts()})
        return
    for item in diffs:
        if item["diff"]:
            app.out(item["diff"])
        else:
            app.out(f"# {item['service']} ({item['region']}): the live policy is up to date")
