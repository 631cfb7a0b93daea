"""Global options, accepted before or after the subcommand (``pros -o json status`` and
``pros status -o json``), each also read from a ``PROS_*`` environment variable.

The root callback declares them with their environment variables and defaults; every command
gets the same options (default: not given) through :func:`command`, and a value given after the
subcommand wins over one given before it or through the environment.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

PANEL = "Global options (also accepted before the command)"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"  # tabular data only (pros usage); other commands refuse it


@dataclass(frozen=True)
class OptionDef:
    name: str
    type: Any
    decls: tuple[str, ...]
    envvar: str
    default: Any
    help: str
    flag: bool = False
    min: int | None = None
    max: int | None = None


GLOBAL_OPTIONS: tuple[OptionDef, ...] = (
    OptionDef(
        "base_name",
        str,
        ("--base-name", "-n"),
        "PROS_BASE_NAME",
        None,
        "Deployment base name; every Azure name derives from it. Default: the one deployment "
        "whose state is in ./.pros/.",
    ),
    OptionDef(
        "state_file",
        Path,
        ("--state-file",),
        "PROS_STATE_FILE",
        None,
        "State file. Default: ./.pros/<base-name>.json.",
    ),
    OptionDef(
        "subscription",
        str,
        ("--subscription",),
        "PROS_SUBSCRIPTION",
        None,
        "Subscription id. Default: AZURE_SUBSCRIPTION_ID, else the az CLI's default subscription.",
    ),
    OptionDef(
        "output",
        OutputFormat,
        ("--output", "-o"),
        "PROS_OUTPUT",
        OutputFormat.table,
        "Output format for data on stdout.",
    ),
    OptionDef(
        "dry_run",
        bool,
        ("--dry-run",),
        "PROS_DRY_RUN",
        False,
        "Print the plan and stop; change nothing.",
        flag=True,
    ),
    OptionDef(
        "yes", bool, ("--yes", "-y"), "PROS_YES", False, "Answer yes to confirmation prompts.", flag=True
    ),
    OptionDef(
        "quiet",
        bool,
        ("--quiet", "-q"),
        "PROS_QUIET",
        False,
        "Do not echo az commands or progress.",
        flag=True,
    ),
    OptionDef(
        "verbose",
        bool,
        ("--verbose", "-v"),
        "PROS_VERBOSE",
        False,
        "Echo read calls too, not only changes.",
        flag=True,
    ),
    OptionDef(
        "parallelism",
        int,
        ("--parallelism",),
        "PROS_PARALLELISM",
        8,
        "Operations in flight at once.",
        min=1,
        max=64,
    ),
    OptionDef(
        "emit_script",
        Path,
        ("--emit-script",),
        "PROS_EMIT_SCRIPT",
        None,
        "Also write every echoed az command into this bash script.",
    ),
)
NAMES = tuple(o.name for o in GLOBAL_OPTIONS)


def _option(o: OptionDef, *, root: bool) -> typer.models.OptionInfo:
    kwargs: dict[str, Any] = {"help": o.help, "rich_help_panel": PANEL if not root else None}
    if root:
        kwargs["envvar"] = o.envvar
        kwargs["show_envvar"] = True
    if o.min is not None:
        kwargs["min"] = o.min
    if o.max is not None:
        kwargs["max"] = o.max
    return typer.Option(*o.decls, **kwargs)


def root_parameters() -> list[inspect.Parameter]:
    params = []
    for o in GLOBAL_OPTIONS:
        annotation = Annotated[o.type if o.default is not None else (o.type | None), _option(o, root=True)]
        params.append(
            inspect.Parameter(
                o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default, annotation=annotation
            )
        )
    return params


def command_parameters() -> list[inspect.Parameter]:
    params = []
    for o in GLOBAL_OPTIONS:
        annotation = Annotated[o.type | None, _option(o, root=False)]
        params.append(
            inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        )
    return params


def with_signature(fn: Any, params: list[inspect.Parameter]) -> Any:
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


SETTINGS_PANEL = "Deployment settings (recorded in the state file; see pros settings)"


def setting_parameters(names: tuple[str, ...]) -> list[inspect.Parameter]:
    """One option per deployment setting, from the settings registry. No Typer envvar: the
    resolver reads ``PROS_*`` itself, so it knows whether a value came from the flag or the
    environment."""
    from pros_cli.settings import BY_NAME

    params = []
    for name in names:
        d = BY_NAME[name]
        kind: Any = {"str": str, "int": int, "bool": bool, "strs": list[str], "models": list[str]}[d.kind]
        help_text = f"{d.help} [env {d.env}]"
        if d.immutable:
            help_text += " Cannot change once the deployment exists."
        option = typer.Option(
            *d.flags or (d.flag,), metavar=d.metavar, help=help_text, rich_help_panel=SETTINGS_PANEL
        )
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
            )
        )
    return params


def command(fn: Any = None, *, settings: tuple[str, ...] = (), csv: bool = False) -> Any:
    """Give a command the global options; it receives the merged settings as ``app``.

    ``settings`` (names from the settings registry): it also gets one option per deployment
    setting and receives them as ``flags`` (name -> value, None when not given).
    ``csv=True`` for a command whose data is a table CSV can carry; any other command refuses
    ``-o csv`` as bad input. A command with a ``ctx`` parameter (a group callback) receives it.
    """
    if fn is None:
        return functools.partial(command, settings=settings, csv=csv)
    signature = inspect.signature(fn, eval_str=True).parameters
    wants_ctx = "ctx" in signature  # a group callback that needs ctx.invoked_subcommand
    own = [p for p in signature.values() if p.name not in ("app", "flags", "ctx")]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        ctx: typer.Context = kwargs.pop("ctx")
        overrides = {name: kwargs.pop(name) for name in NAMES}
        app = ctx.obj.with_overrides({k: v for k, v in overrides.items() if v is not None})
        if app.settings.output == OutputFormat.csv and not csv:
            from pros_cli.errors import UsageError

            raise UsageError(
                f"'pros {ctx.command_path.split(' ', 1)[-1]}' has no tabular data for -o csv",
                hint="use -o table or -o json (csv is for 'pros usage')",
            )
        if settings:
            kwargs["flags"] = {name: kwargs.pop(name) for name in settings}
        return fn(app, ctx=ctx, **kwargs) if wants_ctx else fn(app, **kwargs)

    del wrapper.__wrapped__
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    params = [ctx_param, *own, *setting_parameters(settings), *command_parameters()]
    return with_signature(wrapper, params)


def config_file(help: str) -> Any:
    """The ``--config FILE`` option (also ``PROS_CONFIG``), with a command's own help text; use as
    ``Config = options.config_file("...")`` then ``config: Config = None``."""
    return Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", envvar="PROS_CONFIG", show_envvar=True, help=help),
    ]


# ``--redis-url``: the usage reports and reconcile read another Redis than the deployment's cache.
RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        envvar="REDIS_URL",
        show_envvar=True,
        metavar="URL",
        help="Read this Redis (redis:// or rediss://) instead of the deployment's cache.",
    ),
]
