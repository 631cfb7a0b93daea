"""``pros deploy-functions``: build each Functions app into a zip, deploy it where the deployed one
differs (the token processor to the shared app, the streaming function to every regional app),
wait until ARM lists the function, then subscribe the token processor to the usage topic.

Everything ``pros provision`` made is read, never changed. A re-run deploys nothing when every app
still runs the package pros recorded; ``--dry-run`` says what would be deployed and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

FUNCTIONS_DIR_OPTION = typer.Option(
    "--functions-dir",
    metavar="DIR",
    envvar="PROS_FUNCTIONS_DIR",
    show_envvar=True,
    help="Folder holding the Functions apps (token_processor/, openai_backend/). Default: the apps "
    "installed with pros (functions/ of its source).",
)


@options.command
def deploy_functions(app: App, functions_dir: Annotated[Path | None, FUNCTIONS_DIR_OPTION] = None) -> int:
    from pros_cli.cli.backends import run_part, show_result
    from pros_cli.resources.functions_graph import command_graph
    from pros_cli.resources.package_source import find_source
    from pros_cli.spec import validate_base_name

    app.check()
    base_name = validate_base_name(app.base_name(required=True) or "")
    source = find_source(functions_dir, out_dir=app.state_path(base_name).parent / "packages")
    source.check()  # bad input (exit 2) before any Azure call
    result = run_part(
        app,
        {},
        None,
        "deploy-functions",
        lambda spec: command_graph(spec, source=source, notify=app.ui.info),
    )
    return show_result(app, result.target.spec, result, command="deploy-functions")
