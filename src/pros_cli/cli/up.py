"""``pros up``: the whole deployment in one plan and one graph.

provision, backends, policies and deploy-functions as one run: each gateway's backends and policy
start as soon as that gateway exists, and each Functions app's package deploys as soon as its app
does, instead of each command waiting for the one before it to finish everywhere. The separate
commands stay; each is a part of this same graph.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

from pros_cli.cli import options
from pros_cli.cli.context import App
from pros_cli.cli.deploy_functions import FUNCTIONS_DIR_OPTION
from pros_cli.cli.provision import SETTING_NAMES, _provision, converge_deployment


def _up(app: App, flags: dict[str, Any], **kwargs: Any) -> int:
    from pros_cli.resources.functions_graph import build_function_resources
    from pros_cli.resources.gateway_graph import build_gateway_resources, check_gateway
    from pros_cli.resources.graph import build_resources
    from pros_cli.resources.package_source import find_source
    from pros_cli.spec import validate_base_name

    functions_dir = kwargs.pop("functions_dir", None)
    app.check()
    base_name = validate_base_name(app.base_name(required=True) or "")
    source = find_source(functions_dir, out_dir=app.state_path(base_name).parent / "packages")
    source.check()  # bad input (exit 2) before any Azure call

    def whole(spec: Any) -> list[Any]:
        made = build_resources(spec)
        gateway = build_gateway_resources(spec, made)
        code = build_function_resources(spec, made, source=source, notify=app.ui.info)
        return [*made, *gateway, *code]

    return converge_deployment(
        app, flags, command="up", build_for=lambda state: whole, check=check_gateway, **kwargs
    )


def _signature() -> list[inspect.Parameter]:
    """provision's own options (settings, --config, --no-wait, --prune, ...) plus --functions-dir."""
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(_provision, eval_str=True).parameters.values()
        if p.name not in ("app", "flags")
    ]
    extra = inspect.Parameter(
        "functions_dir",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[Path | None, FUNCTIONS_DIR_OPTION],
    )
    return [*own, extra]


def _make() -> Any:
    def up(app: App, flags: dict[str, Any], **kwargs: Any) -> int:
        return _up(app, flags, **kwargs)

    params = [
        inspect.Parameter("app", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=App),
        inspect.Parameter("flags", inspect.Parameter.KEYWORD_ONLY, annotation=dict[str, Any]),
        *_signature(),
    ]
    up.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    up.__annotations__ = {p.name: p.annotation for p in params}
    return options.command(up, settings=SETTING_NAMES)


up = _make()
