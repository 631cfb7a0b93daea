"""The Typer application: root callback, command registration, and the one place where errors
become exit statuses.

Only Typer and the standard library are imported at start-up: ``pros --help`` never loads an
Azure SDK module. Commands import what they need when they run.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from typing import Annotated, Any

import typer

from pros_cli import __version__
from pros_cli.cli import options
from pros_cli.cli.context import App, Settings
from pros_cli.errors import ExitCode, ProsError

HELP = """pros: run Azure OpenAI behind a multi-region API Management gateway.

Every command reads what exists, changes only what differs, echoes the equivalent az command
for each change (secrets masked), and records what it did in a state file (./.pros/<base>.json).

Exit status: 0 ok, 1 an operation failed, 2 bad input, 3 unhealthy or drifted (status) or the
ledger off by more than the tolerance (usage reconcile), 130 interrupted.
Set PROS_CLOUD=simulator to run against the local ARM simulator instead of Azure.
"""

app = typer.Typer(
    name="pros",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)


def _version(value: bool) -> None:
    if value:
        print(f"pros {__version__}")
        raise typer.Exit(0)


def _root(ctx: typer.Context, version: bool = False, **settings: Any) -> None:
    ctx.obj = App(Settings(**settings))


_root_params = [
    inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
    inspect.Parameter(
        "version",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
        ],
    ),
    *options.root_parameters(),
]
app.callback()(options.with_signature(_root, _root_params))


def _register() -> None:
    """The commands, in the order an operator meets them (Typer lists them in this order)."""
    from pros_cli.cli.backends import backends
    from pros_cli.cli.deploy_functions import deploy_functions
    from pros_cli.cli.models import models
    from pros_cli.cli.policies import policies
    from pros_cli.cli.provision import provision
    from pros_cli.cli.settings_cmd import settings
    from pros_cli.cli.status import STATUS_HELP, status
    from pros_cli.cli.teardown import teardown
    from pros_cli.cli.up import up
    from pros_cli.cli.usage import usage_app

    app.command(
        "provision",
        help="Create or update the deployment: plan, then apply in parallel; safe to re-run.",
        no_args_is_help=False,
    )(provision)
    app.command(
        "up",
        help="The whole deployment in one plan and one graph: provision, backends, policies and "
        "deploy-functions; each part starts as soon as what it needs exists.",
        no_args_is_help=False,
    )(up)
    app.command(
        "backends",
        help="In every gateway: named values, regional backends with circuit breakers, priority pools, "
        "the OpenAI API and its product.",
        no_args_is_help=False,
    )(backends)
    app.command(
        "policies",
        help="Apply the OpenAI API's policy to every gateway (--dry-run: diff); 'render' writes it locally.",
        no_args_is_help=False,
    )(policies)
    app.command(
        "deploy-functions",
        help="Build the Functions apps, deploy each where the deployed package differs (Entra token, remote "
        "build), then subscribe the token processor to the usage topic.",
        no_args_is_help=False,
    )(deploy_functions)
    app.command("status", help=STATUS_HELP, no_args_is_help=False)(status)
    app.add_typer(usage_app, name="usage")
    app.command(
        "models",
        help="List the Azure OpenAI models each region can deploy: versions, retirement, quota left.",
        no_args_is_help=False,
    )(models)
    app.command(
        "settings",
        help="Show the deployment's effective settings and where each comes from (flag, env, config, "
        "state, default).",
        no_args_is_help=False,
    )(settings)
    app.command(
        "teardown",
        help="Delete what pros made for the deployment (never adopted resources, never anything without "
        "its tags), in reverse dependency order; --purge frees soft-deleted names.",
        no_args_is_help=False,
    )(teardown)


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the status from the one exit-status table."""
    if not os.environ.get("PROS_DEBUG"):
        # The SDKs log credential and HTTP details through logging; pros reports errors itself,
        # and nothing an SDK logs reaches the terminal (or a secret with it).
        logging.getLogger("azure").setLevel(logging.CRITICAL)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="pros", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
    except ProsError as exc:
        sys.stderr.write(exc.render() + "\n")
        code = int(exc.exit_code)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        code = int(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            sys.stderr.write(f"error: {exc.format_message()}\n")
        code = int(ExitCode.USAGE) if exc.exit_code in (1, 2) else exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: work in flight is recorded in the state file; run again to resume\n")
        code = int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        code = int(ExitCode.OK)
    except Exception as exc:
        if os.environ.get("PROS_DEBUG"):
            raise
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {exc}\n  (set PROS_DEBUG=1 for a traceback)\n"
        )
        code = int(ExitCode.FAILED)
    sys.stdout.flush()
    sys.exit(code)
