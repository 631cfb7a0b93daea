"""The az echo: quoting, masking, the emitted script, and az's own parser over every line pros can echo."""

from __future__ import annotations

import json
import shlex
import subprocess

from pros_cli.echo import AzCommand, Echo, JsonSubst, Secret, Subst, az, az_rest, tags_args, wait_after
from pros_cli.resources.base import FieldDiff
from pros_cli.resources.graph import build_resources
from tests.conftest import make_spec, run_pros


def test_arguments_are_shell_quoted_so_lines_paste():
    cmd = az("group", "create", "--name", "rg demo", "--tags", "owner=Jane Doe", "x=$HOME", "q='")
    line = cmd.render()
    assert shlex.split(line) == [
        "az",
        "group",
        "create",
        "--name",
        "rg demo",
        "--tags",
        "owner=Jane Doe",
        "x=$HOME",
        "q='",
    ]


def test_secrets_render_as_shell_variables_never_as_values():
    secret = Secret(
        "PROS_REDIS_KEY",
        source="az redis list-keys -g rg -n r --query primaryKey -o tsv",
        prefix="REDIS_KEY=",
    )
    cmd = az(
        "functionapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings", "A=1", secret
    )
    line = cmd.render()
    assert '"REDIS_KEY=${PROS_REDIS_KEY}"' in line
    assert shlex.split(line)[-1] == "REDIS_KEY=${PROS_REDIS_KEY}"


def test_echo_writes_executing_lines_and_a_script_that_fetches_secrets(tmp_path):
    written: list[str] = []
    script = tmp_path / "replay.sh"
    echo = Echo(write=written.append, script_path=script)
    secret = Secret("PROS_KEY", source="az redis list-keys -g rg -n r --query primaryKey -o tsv", prefix="K=")
    echo(
        [
            az("group", "create", "--name", "rg", "--location", "eastus"),
            az("functionapp", "config", "appsettings", "set", "-g", "rg", "-n", "f", "--settings", secret),
        ]
    )
    echo(az("group", "show", "--name", "rg", read_only=True))
    assert written == [
        "Executing: az group create --name rg --location eastus",
        'Executing: az functionapp config appsettings set -g rg -n f --settings "K=${PROS_KEY}"',
    ]
    text = script.read_text()
    fetch = 'PROS_KEY="$(az redis list-keys -g rg -n r --query primaryKey -o tsv)"'
    assert text.count("PROS_KEY=") == 1
    # Fetched right before its first use, after the lines before it (which may create its source),
    # never hoisted to the top where the source does not exist yet.
    assert text.index("az group create") < text.index(fetch) < text.index("az functionapp config")
    assert "az group show" not in text
    echo(az("functionapp", "config", "appsettings", "set", "-g", "rg", "-n", "g", "--settings", secret))
    assert script.read_text().count("PROS_KEY=") == 1  # fetched once, used twice


def test_a_guarded_line_runs_in_the_script_only_when_its_guard_succeeds(tmp_path):
    written: list[str] = []
    script = tmp_path / "replay.sh"
    echo = Echo(write=written.append, script_path=script)
    show = az("apim", "deletedservice", "show", "--service-name", "a", "-l", "eastus", read_only=True)
    where = ("--service-name", "a", "-l", "eastus")
    purge = AzCommand(az("apim", "deletedservice", "purge", *where).args, guard=show)
    echo(purge)
    assert written == [f"Executing: {purge.render()}"]  # the terminal shows the command itself
    line = script.read_text().splitlines()[-1]
    assert line == f"if {show.render()} --output none 2>/dev/null; then {purge.render()}; fi"
    # bash runs the purge only when the show succeeds (az stubbed: show fails for a purged name).
    for show_status, ran in ((0, True), (1, False)):
        out = subprocess.run(
            ["bash", "-c", f'az() {{ [ "$3" = show ] && return {show_status}; echo ran "$3"; }}; {line}'],
            capture_output=True, text=True, check=True,
        ).stdout
        assert ("ran purge" in out) is ran


def test_script_waits_after_an_az_rest_put_as_pros_polls_it(tmp_path):
    script = tmp_path / "replay.sh"
    echo = Echo(write=lambda line: None, script_path=script)
    path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t"
    echo([az_rest("PUT", path, "2025-02-15", {"location": "eastus"}), az_rest("DELETE", path, "2025-02-15")])
    lines = script.read_text().splitlines()
    put = next(i for i, line in enumerate(lines) if "--method put" in line)
    wait = shlex.split(lines[put + 1])
    assert wait[:3] == ["az", "resource", "wait"]
    assert wait[wait.index("--ids") + 1] == path and wait[wait.index("--api-version") + 1] == "2025-02-15"
    assert "provisioningState" in wait[wait.index("--custom") + 1]
    delete = shlex.split(lines[put + 3])
    assert delete[:3] == ["az", "resource", "wait"] and "--deleted" in delete  # a DELETE waits too


def test_notes_show_once_per_run_and_above_each_scripted_line(tmp_path):
    written: list[str] = []
    script = tmp_path / "replay.sh"
    echo = Echo(write=written.append, script_path=script)
    note = "by hand: az redisenterprise create (an az extension)"
    first = AzCommand(az_rest("PUT", "/subscriptions/s/x/a", "2025-07-01", {"a": 1}).args, note=note)
    second = AzCommand(az_rest("PUT", "/subscriptions/s/x/b", "2025-07-01", {"b": 2}).args, note=note)
    echo([first, second])
    assert written == [f"Executing: {first.render()}", f"  note: {note}", f"Executing: {second.render()}"]
    lines = [line for line in script.read_text().splitlines() if not line.startswith("az resource wait")]
    assert lines[-4:] == [f"# {note}", first.render(), f"# {note}", second.render()]


def test_json_with_substitutions_is_one_argument_the_shell_completes():
    lookup = Subst(
        az("functionapp", "show", "-g", "rg", "-n", "func-1", read_only=True), "identity.principalId"
    )
    body = {"properties": {"user": {"objectId": "@ID@"}, "note": 'say "$HOME" `x` \\ done'}}
    cmd = az("rest", "--method", "put", "--url", "https://x", "--body", JsonSubst(body, (("@ID@", lookup),)))
    line = cmd.render()
    args = shlex.split(line)
    assert len(args) == 8 and "$(az functionapp show" in args[-1]
    # What bash passes to az once the lookup has run (az stubbed to print an object id):
    shown = subprocess.run(
        ["bash", "-c", f'az() {{ echo 1111-2222; }}; set -- {line.split(" --body ", 1)[1]}; printf %s "$1"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(shown) == {
        "properties": {"user": {"objectId": "1111-2222"}, "note": body["properties"]["note"]}
    }


def test_quiet_echo_prints_nothing_but_still_scripts(tmp_path):
    written: list[str] = []
    echo = Echo(write=written.append, quiet=True, script_path=tmp_path / "s.sh")
    echo(az("group", "create", "--name", "rg", "--location", "eastus"))
    assert written == []
    assert "az group create" in (tmp_path / "s.sh").read_text()


def test_verbose_echo_includes_reads():
    written: list[str] = []
    Echo(write=written.append, verbose=True)(az("group", "show", "--name", "rg", read_only=True))
    assert written == ["Executing: az group show --name rg"]


def test_az_rest_builds_a_url_with_api_version_and_compact_body():
    cmd = az_rest("PUT", "/subscriptions/s/resourceGroups/rg", "2025-04-01", {"location": "eastus"})
    args = shlex.split(cmd.render())
    assert args[:4] == ["az", "rest", "--method", "put"]
    assert args[5] == "https://management.azure.com/subscriptions/s/resourceGroups/rg?api-version=2025-04-01"
    assert args[7] == '{"location":"eastus"}'


def test_tags_args():
    assert tags_args({"b": "2", "a": "1"}) == ["--tags", "a=1", "b=2"]


def every_az_line(spec) -> list[str]:
    """Every command the resource kinds of a deployment can echo: create, update, delete, read."""
    lines: list[str] = []
    for r in build_resources(spec):
        desired = r.desired()
        current = dict(desired)
        current["tags"] = {"owner": "someone"}
        diffs = [
            FieldDiff(path, "old-value", _value(desired, path))
            for path in r.managed_fields
            if path not in r.immutable_fields and _value(desired, path) is not None
        ]
        diffs += r.diff(current)
        commands: list[AzCommand] = [*r.az_create(), *r.az_delete(), r.az_read()]
        if diffs:
            commands += r.az_update(current, diffs)
        lines += [c.render() for c in commands]
        lines += [w.render() for w in map(wait_after, commands) if w is not None]  # the script's waits
        lines += [c.guard.render() for c in commands if c.guard is not None]  # and its guards
        purge = getattr(r, "az_purge", None)
        if purge is not None:
            lines += [purge().render(), purge().guard.render()]
    return lines


def _value(body, path):
    from pros_cli.resources.base import get_path

    return get_path(body, path)


def test_every_echoed_line_passes_az_parser(az_parser, isolated, monkeypatch):
    lines = every_az_line(make_spec(regions=["eastus", "westus", "westeurope"]))
    lines += every_az_line(
        make_spec(
            function_plan="consumption",
            apim_sku="StandardV2",
            custom_domain="api.contoso.com",
            certificate_secret_id="https://kv-ops.vault.azure.net/secrets/api-cert",
        )
    )
    run = run_pros("provision", "--base-name", "demo", "--verbose")
    assert run.code == 0, run.err
    lines += run.echoed
    # A dry run before anything exists: values az must look up when the line runs ("$(az ...)").
    monkeypatch.delenv("PROS_CLOUD")
    offline = run_pros(
        "provision",
        "--base-name",
        "other",
        "--dry-run",
        "--offline",
        "-o",
        "json",
        "--custom-domain",
        "api.contoso.com",
        "--certificate-secret-id",
        "https://kv-ops.vault.azure.net/secrets/c",
    )
    assert offline.code == 0, offline.err
    planned = [line for change in offline.json()["changes"] for line in change["az"]]
    assert any('"$(az ' in line for line in planned)
    lines += planned
    assert len(lines) > 10
    assert az_parser.failures(lines) == []


def test_az_parser_really_rejects_bad_lines(az_parser):
    bad = az_parser.failures(
        ["az storage account create --name x --no-such-flag 1", "az apim policy apply -n x"]
    )
    assert len(bad) == 2


def test_a_known_value_is_shown_but_the_script_asks_az_for_it_before_its_line(tmp_path):
    """A principal id pros knows is shown in the echo; the script asks az for it on a line of its
    own (a replay gets another identity, and a failed or empty lookup stops the script there)."""
    written: list[str] = []
    script = tmp_path / "replay.sh"
    echo = Echo(write=written.append, script_path=script)
    show = az("functionapp", "show", "-g", "rg", "-n", "func-1", read_only=True)
    known = Subst(show, "identity.principalId", known="1111-2222")
    grant = az("role", "assignment", "create", "--assignee-object-id", known, "--role", "r", "--scope", "s")
    body = JsonSubst({"user": {"objectId": "@ID@"}}, (("@ID@", known),))
    put = az("rest", "--method", "put", "--url", "https://example.org/x", "--body", body)
    echo([grant, put])
    shown = "az role assignment create --assignee-object-id 1111-2222 --role r --scope s"
    assert written[0] == f"Executing: {shown}"
    assert '\\"objectId\\":\\"1111-2222\\"' in written[1]
    lines = script.read_text().splitlines()
    lookup = "az functionapp show -g rg -n func-1 --query identity.principalId --output tsv"
    fetch = lines.index(f'PROS_VALUE_1="$({lookup})"')
    assert lines[fetch + 1] == ': "${PROS_VALUE_1:?the line above printed no value}"'
    assert lines[fetch + 2].endswith('--assignee-object-id "${PROS_VALUE_1}" --role r --scope s')
    assert "1111-2222" not in script.read_text()
    assert sum(line.startswith("PROS_VALUE_") for line in lines) == 1  # fetched once, used twice
    # What bash hands az: the fetched value, in one JSON argument.
    stub = 'az() { if [ "$1" = functionapp ]; then echo 3333-4444; else printf "%s\\n" "$@"; fi; }'
    program = stub + "\n" + "\n".join(lines[fetch:])
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '{"user":{"objectId":"3333-4444"}}' in out.stdout.splitlines()
