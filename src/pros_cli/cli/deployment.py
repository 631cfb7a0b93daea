"""The deployment's settings for commands that work on an existing deployment (``pros backends``,
``pros policies``): what the last ``pros provision`` recorded, then the config file, then the
command line.

One function on purpose: how settings are resolved and recorded is being reworked (issue 6),
and that rework replaces this function's insides, not its callers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pros_cli.errors import UsageError
from pros_cli.spec import Spec

# Recorded keys that are derived, not settings.
_DERIVED = ("base_name", "resource_group", "name_suffix", "openai_sku")


def deployment_spec(app: Any, *, overrides: dict[str, Any], config: Path | None = None) -> Spec:
    """Rebuild the Spec of the selected deployment from its state file, with ``config`` (a TOML
    file, as for provision) and then the non-None ``overrides`` on top; validated like provision's.

    No recorded deployment is a UsageError that says to run ``pros provision`` first."""
    from pros_cli.config import load_config
    from pros_cli.spec import ModelDeployment, build_spec, validate_base_name
    from pros_cli.state import load_state_file

    base_name = validate_base_name(app.base_name(required=True) or "")
    path = app.state_path(base_name)
    data = load_state_file(path)
    recorded = (data or {}).get("spec") or {}
    if not recorded:
        raise UsageError(
            f"no deployment {base_name!r} is recorded in {path}",
            hint="run `pros provision` first (or pass --state-file with the deployment's state file)",
        )
    assert data is not None
    settings: dict[str, Any] = {k: v for k, v in recorded.items() if k not in _DERIVED and v is not None}
    if "models" in settings:
        settings["models"] = tuple(ModelDeployment(**m) for m in settings["models"])
    if config is not None:
        settings.update(load_config(config))
    settings.update({k: v for k, v in overrides.items() if v is not None})
    subscription = app.settings.subscription or data.get("subscription_id")
    if not subscription:
        raise UsageError(f"state file {path} records no subscription", hint="pass --subscription ID")
    spec = build_spec(base_name=base_name, subscription_id=str(subscription), **settings)
    suffix = recorded.get("name_suffix")
    if suffix and suffix != spec.names.suffix:
        raise UsageError(
            f"the names recorded in {path} were made for another subscription than {spec.subscription_id}",
            hint=f"pass --subscription {data.get('subscription_id')} (the deployment's)",
        )
    return spec
