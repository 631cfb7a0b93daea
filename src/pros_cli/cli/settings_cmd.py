"""``pros settings``: the deployment's effective settings and where each comes from."""

from __future__ import annotations

from typing import Any

from pros_cli.cli import options
from pros_cli.cli.context import App
from pros_cli.settings import SETTINGS

ConfigFile = options.config_file("TOML file with deployment settings, as provision reads it.")


@options.command(settings=tuple(s.name for s in SETTINGS))
def settings(
    app: App,
    flags: dict[str, Any],
    config: ConfigFile = None,
) -> int:
    """Resolve the settings exactly as provision would (flag, env, config, state, default) and
    print them with their sources; nothing is read from Azure and nothing is written."""
    from pros_cli.cli import render
    from pros_cli.config import load_config
    from pros_cli.deployment import Request, effective_settings, spec_from
    from pros_cli.settings import BY_NAME, changes
    from pros_cli.settings import render as show
    from pros_cli.state import StateStore

    app.check()
    base_name, subscription = app.deployment(offline=True)
    state = StateStore.open(
        app.state_path(base_name),
        base_name=base_name,
        subscription_id=subscription,
        cloud=app.cloud,
        writable=False,
    )
    recorded = state.settings
    request = Request(flags=flags, config=load_config(config) if config is not None else {})
    effective = effective_settings(request, recorded)
    spec_from(effective, base_name=base_name, subscription_id=subscription)  # validates, fills defaults
    pending = changes(effective, recorded)
    if app.json:
        render.print_json(
            {
                "base_name": base_name,
                "subscription_id": subscription,
                "recorded": bool(recorded),
                "settings": effective.rows(),
                "changes": [c.to_json() for c in pending],
            }
        )
        return 0
    from rich.table import Table

    console = render._console()
    console.print(f"Deployment {base_name} (subscription {subscription})", markup=False)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in effective.values.items():
        name, resolved = row
        table.add_row(name, show(BY_NAME[name], resolved.value), resolved.source)
    console.print(table, markup=False)
    if not recorded:
        console.print("No settings are recorded yet: provision records them when it succeeds.", markup=False)
    elif pending:
        console.print(
            f"{len(pending)} setting(s) differ from the recorded ones; provision would apply them:",
            markup=False,
        )
        render.print_setting_changes(pending, console)
    return 0
