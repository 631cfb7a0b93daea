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
from pros_cli.cli.backends import ConfigFile
from pros_cli.cli.context import App
from pros_cli.settings import names_for


@options.command(settings=names_for("policies"))
def policies(
    app: App,
    flags: dict[str, Any],
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
    config: ConfigFile = None,
) -> int:
    from pros_cli.errors import UsageError

    app.check()
    if action not in (None, "render"):
        raise UsageError(f"unknown action {action!r}", hint="pros policies [render [--out DIR]]")
    if action == "render":
        return _render(app, flags, config, out)
    if out is not None:
        raise UsageError("--out goes with render", hint="pros policies render --out DIR")
    return _apply(app, flags, config)


def _render(app: App, flags: dict[str, Any], config: Path | None, out: Path | None) -> int:
    """No Azure and no credentials: the recorded deployment's settings when there is one, else the
    defaults, then --config, PROS_* and the options."""
    from pros_cli.cli import render
    from pros_cli.config import load_config
    from pros_cli.deployment import Request, effective_settings, spec_from
    from pros_cli.policy import PolicyOptions, render_api_policy, write_rendered
    from pros_cli.resources.gateway_graph import definition_path, policy_options
    from pros_cli.settings import recorded_settings
    from pros_cli.spec import OFFLINE_SUBSCRIPTION
    from pros_cli.state import load_state_file

    base = app.base_name(required=False)
    data = load_state_file(app.state_path(base)) if base else None
    if flags.get("spec_file"):
        flags = {**flags, "spec_file": str(Path(flags["spec_file"]).resolve())}
    request = Request(flags=flags, config=load_config(config) if config is not None else {})
    effective = effective_settings(request, recorded_settings(data))
    subscription = str((data or {}).get("subscription_id") or OFFLINE_SUBSCRIPTION)
    spec = spec_from(effective, base_name=base or "render", subscription_id=subscription)
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


def _apply(app: App, flags: dict[str, Any], config: Path | None) -> int:
    from pros_cli.cli.backends import run_part, show_result
    from pros_cli.resources.gateway_graph import command_graph

    result = run_part(app, flags, config, "policies", lambda spec: command_graph(spec, "policies")[0])
    return show_result(
        app,
        result.target.spec,
        result,
        command="policies",
        dry_run_data=lambda: _print_diffs(app, result.plan),
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
