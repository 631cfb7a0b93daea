"""pros deploy-functions against the simulator: packages deployed once (Flex one deploy or Linux
zip deploy, an Entra token, remote build), the Event Grid subscription after the function is
listed, nothing written on a re-run, failures that stop the subscription, secrets kept out of
every output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.functions_package import build_package, content_hash
from pros_cli.resources.package_source import checkout_functions_dir
from pros_cli.simulator.core import SECRET_MARKER, Simulator
from pros_cli.simulator.providers.eventgrid_subscriptions import refuse_azure_function_destinations
from tests.cli.gateway_helpers import provision, spec, writes
from tests.conftest import SUB, assert_no_secrets, load_state, run_pros
from tests.simulator.scm_helpers import bearer, zip_of

TOKEN_VENDOR = ("pros_cli.ledger", "pros_cli.contract")
SUBSCRIPTION = "Microsoft.EventGrid/eventSubscriptions/token-processor"


def posts(sim: Simulator, path: str) -> int:
    return sim.count("POST", path_contains=path)


def clients(sim: Simulator) -> ClientFactory:
    return ClientFactory(SUB, cloud="simulator", simulator=sim)


def topic_scope(s: Any) -> str:
    topic = s.names.eventgrid_topic()
    return f"subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.EventGrid/topics/{topic}"


def live_subscription(sim: Simulator, s: Any) -> dict[str, Any]:
    ops = clients(sim).eventgrid.event_subscriptions
    return ops.get(topic_scope(s), "token-processor", cls=raw_json)


def functions_copy(tmp_path: Path) -> Path:
    target = tmp_path / "functions-copy"
    shutil.copytree(checkout_functions_dir(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def site_id(s: Any, app: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.Web/sites/{app}"


def test_the_first_run_deploys_and_subscribes_the_second_writes_nothing(sim, az_parser, no_secret_leaks):
    provision()
    sim.reset_log()
    first = run_pros("deploy-functions", "--emit-script", ".pros/deploy.sh", "-o", "json")
    assert first.code == 0, first.err
    assert_no_secrets(first.out, first.err)
    assert posts(sim, "/api/publish") == 3
    assert any(SUBSCRIPTION in w for w in writes(sim))
    result = first.json()
    assert result["result"] == "succeeded" and result["command"] == "deploy-functions"
    s = spec()
    state = load_state()["resources"]
    functions = checkout_functions_dir()
    token = build_package(functions / "token_processor", vendor=TOKEN_VENDOR)
    backend = build_package(functions / "openai_backend", vendor=())
    assert state["function-code/token"]["outputs"]["content_hash"] == content_hash(token)
    for region in ("eastus", "westus"):
        outputs = state[f"function-code/{region}"]["outputs"]
        assert outputs["content_hash"] == content_hash(backend) and outputs["functions"] == ["openai_backend"]
    # The zips the echoed lines name are the packages deployed.
    assert (Path(".pros/packages") / f"{s.names.token_function_app()}.zip").read_bytes() == token
    assert (Path(".pros/packages") / f"{s.names.function_app('westus')}.zip").read_bytes() == backend
    live = live_subscription(sim, s)["properties"]
    assert live["destination"] == {
        "endpointType": "AzureFunction",
        "properties": {"resourceId": site_id(s, s.names.token_function_app()) + "/functions/token_processor"},
    }
    assert live["filter"]["includedEventTypes"] == ["Pros.Usage.ModelCall"]
    assert live["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead_letter = live["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"]["properties"]["blobContainerName"] == "eventgrid-deadletter"
    grant = state["rbac/eventgrid-deadletter"]["outputs"]
    assert grant["role"] == "Storage Blob Data Contributor"
    assert grant["scope"].endswith("/blobServices/default/containers/eventgrid-deadletter")
    assert grant["principal_id"] == state["eventgrid-topic"]["outputs"]["principal_id"]

    sim.reset_log()
    second = run_pros("deploy-functions")
    assert second.code == 0, second.err
    assert writes(sim) == [] and posts(sim, "/api/publish") == 0 and second.echoed == []
    script = Path(".pros/deploy.sh").read_text().splitlines()
    commands = [line for line in script if line.startswith("az ")]
    assert any("config-zip" in line for line in commands)
    assert az_parser.failures(first.echoed + commands) == []


def test_dry_run_says_what_would_be_deployed_and_why(sim, tmp_path):
    provision()
    sim.reset_log()
    never = run_pros("deploy-functions", "--dry-run", "-o", "json")
    assert never.code == 0, never.err
    reasons = {c["id"]: c["reasons"] for c in never.json()["changes"] if c["type"].endswith("/functions")}
    assert all("never deployed" in r[0] for r in reasons.values()) and len(reasons) == 3
    assert writes(sim) == [] and posts(sim, "/api/publish") == 0
    assert run_pros("deploy-functions", "-q").code == 0

    changed = functions_copy(tmp_path)
    source = changed / "token_processor" / "function_app.py"
    source.write_text(source.read_text() + "\n# a change\n")
    run = run_pros("deploy-functions", "--dry-run", "-o", "json", "--functions-dir", str(changed))
    changes = {c["name"]: c for c in run.json()["changes"]}
    assert changes["token_processor"]["action"] == "update"
    assert "package changed" in changes["token_processor"]["reasons"][0]
    assert {c["action"] for name, c in changes.items() if name != "token_processor"} == {"no-op"}

    # The token processor's app deleted and created again: it runs nothing.
    s = spec()
    web = clients(sim).web
    from pros_cli.resources import functions
    from pros_cli.resources.graph import build_resources

    app = next(r for r in build_resources(s) if r.key == functions.app_key("token"))
    web.web_apps.delete("rg-demo", app.name, delete_empty_server_farm=False)
    app.create(clients(sim)).result()
    run = run_pros("deploy-functions", "--dry-run", "-o", "json")
    changes = {c["name"]: c for c in run.json()["changes"]}
    assert changes["token_processor"]["action"] == "create"
    assert "the app runs no function any more (recreated" in changes["token_processor"]["reasons"][0]


def test_a_package_that_fails_to_import_fails_its_deployment_and_nothing_subscribes(sim, tmp_path):
    provision()
    broken = functions_copy(tmp_path)
    (broken / "token_processor" / "function_app.py").write_text(
        "import azure.functions as func\nimport redis_but_misspelled\napp = func.FunctionApp()\n"
    )
    sim.reset_log()
    run = run_pros("deploy-functions", "--functions-dir", str(broken), "-o", "json")
    assert run.code == 1
    assert "function package token_processor" in run.err
    assert "ModuleNotFoundError: No module named 'redis_but_misspelled'" in run.err
    rows = {r["key"]: r["status"] for r in run.json()["resources"]}
    assert rows["function-code/token"] == "failed" and rows["eventgrid-subscription"] == "skipped"
    assert rows["function-code/eastus"] == "succeeded" and rows["function-code/westus"] == "succeeded"
    assert not any("eventSubscriptions" in w for w in writes(sim))
    # Fixed: the next run deploys the token processor and subscribes; the regional apps stay.
    sim.reset_log()
    again = run_pros("deploy-functions", "-q")
    assert again.code == 0, again.err
    assert posts(sim, "/api/publish") == 1 and any(SUBSCRIPTION in w for w in writes(sim))


def test_a_deployment_whose_function_never_shows_fails_after_a_bounded_wait(sim, tmp_path, monkeypatch):
    import pros_cli.resources.function_deployment as deployment

    monkeypatch.setattr(deployment, "LIST_TIMEOUT_SECONDS", 0.5)
    provision()
    renamed = functions_copy(tmp_path)
    source = renamed / "token_processor" / "function_app.py"
    source.write_text(
        source.read_text().replace('function_name("token_processor")', 'function_name("other")')
    )
    run = run_pros("deploy-functions", "--functions-dir", str(renamed))
    assert run.code == 1
    assert "waiting up to 0.5 s for ARM to list token_processor" in run.err
    assert "succeeded, but after 0.5 s ARM lists other under" in run.err and "not token_processor" in run.err
    rows = {line.split()[0] for line in run.out.splitlines() if "openai_backend on" in line}
    assert rows == {"succeeded"}
    assert not any("eventSubscriptions" in w for w in writes(sim))


def test_where_event_grid_refuses_the_function_it_subscribes_the_extension_webhook(
    sim, az_parser, no_secret_leaks
):
    provision()
    refuse_azure_function_destinations(sim, "FlexConsumption")
    run = run_pros("deploy-functions", "--emit-script", ".pros/deploy.sh")
    assert run.code == 0, run.err
    assert_no_secrets(run.out, run.err)
    s = spec()
    live = live_subscription(sim, s)["properties"]["destination"]
    host = clients(sim).web.web_apps.get("rg-demo", s.names.token_function_app()).default_host_name
    assert live["endpointType"] == "WebHook"
    assert live["properties"]["endpointBaseUrl"] == f"https://{host}/runtime/webhooks/eventgrid"
    full = (
        clients(sim)
        .eventgrid.event_subscriptions.get_full_url(topic_scope(s), "token-processor")
        .endpoint_url
    )
    keys = clients(sim).web.web_apps.list_host_keys("rg-demo", s.names.token_function_app(), cls=raw_json)
    assert full == (
        f"https://{host}/runtime/webhooks/eventgrid?functionName=token_processor"
        f"&code={keys['systemKeys']['eventgrid_extension']}"
    )
    webhook_lines = [line for line in run.echoed if "--endpoint-type webhook" in line]
    assert len(webhook_lines) == 1 and "${PROS_EVENTGRID_EXTENSION_KEY}" in webhook_lines[0]
    outputs = load_state()["resources"]["eventgrid-subscription"]["outputs"]
    assert outputs["endpoint_type"] == "WebHook" and "refused the AzureFunction" in outputs["fallback_reason"]
    script = Path(".pros/deploy.sh").read_text()
    assert 'PROS_EVENTGRID_EXTENSION_KEY="$(az functionapp keys list' in script
    assert az_parser.failures(run.echoed) == []

    sim.reset_log()
    again = run_pros("deploy-functions")
    assert again.code == 0 and writes(sim) == []

    # The extension key rotated: the subscription follows, and no run shows either key.
    site = site_id(s, s.names.token_function_app())
    with sim.transaction():
        sim.get_resource(site)["body"]["_hostKeys"]["systemKeys"]["eventgrid_extension"] = (
            SECRET_MARKER + "rotated"
        )
    dry = run_pros("deploy-functions", "--dry-run")
    assert "key differs" in dry.out and SECRET_MARKER not in dry.out + dry.err
    rotated = run_pros("deploy-functions")
    assert rotated.code == 0 and SECRET_MARKER not in rotated.out + rotated.err
    full = (
        clients(sim)
        .eventgrid.event_subscriptions.get_full_url(topic_scope(s), "token-processor")
        .endpoint_url
    )
    assert full.endswith("code=" + SECRET_MARKER + "rotated")


def test_missing_app_folders_are_bad_input_before_any_request(sim, tmp_path):
    provision()
    sim.reset_log()
    run = run_pros("deploy-functions", "--functions-dir", str(tmp_path / "nowhere"))
    assert run.code == 2 and "does not exist" in run.err and "--functions-dir" in run.err
    half = tmp_path / "half"
    shutil.copytree(checkout_functions_dir() / "token_processor", half / "token_processor")
    run = run_pros("deploy-functions", "--functions-dir", str(half))
    assert run.code == 2 and "openai_backend/ is not a Python v2 Functions app" in run.err
    assert sim.log_entries() == []


def test_linux_consumption_sets_remote_build_then_zip_deploys(sim, az_parser):
    provision(extra=("--function-plan", "consumption"))
    sim.reset_log()
    run = run_pros("deploy-functions")
    assert run.code == 0, run.err
    log = [(e["method"], e["path"]) for e in sim.log_entries()]
    settings = [i for i, (m, p) in enumerate(log) if m == "PUT" and p.endswith("/config/appsettings")]
    deploys = [i for i, (m, p) in enumerate(log) if m == "POST" and p == "/api/zipdeploy"]
    assert len(settings) == 3 and len(deploys) == 3 and max(settings) < max(deploys)
    s = spec()
    listed = clients(sim).web.web_apps.list_application_settings("rg-demo", s.names.function_app("eastus"))
    assert listed.properties["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "true"
    assert listed.properties["ENABLE_ORYX_BUILD"] == "true"
    assert live_subscription(sim, s)["properties"]["provisioningState"] == "Succeeded"
    assert az_parser.failures(run.echoed) == []
    sim.reset_log()
    assert run_pros("deploy-functions").code == 0 and writes(sim) == []
    assert posts(sim, "/api/zipdeploy") == 0


def test_status_shows_the_packages_and_a_foreign_deployment_is_redeployed(sim):
    provision()
    assert run_pros("deploy-functions", "-q").code == 0
    status = run_pros("status", "-o", "json")
    assert status.code == 0, status.out
    rows = {r["key"]: r for r in status.json()["resources"]}
    assert (
        rows["function-code/token"]["health"] == "ok"
        and "runs sha256:" in rows["function-code/token"]["detail"]
    )
    assert rows["eventgrid-subscription"]["health"] == "ok"
    assert "delivers Pros.Usage.ModelCall" in rows["eventgrid-subscription"]["detail"]

    # Someone deploys another package to the westus app.
    s = spec()
    app = clients(sim).web.web_apps.get("rg-demo", s.names.function_app("westus"), cls=raw_json)
    scm = next(h["name"] for h in app["properties"]["hostNameSslStates"] if h["hostType"] == "Repository")
    other = zip_of(
        {
            "host.json": "{}",
            "function_app.py": "import azure.functions as func\napp = func.FunctionApp()\n\n"
            "@app.route(route='x')\ndef openai_backend(req):\n    return 'x'\n",
        }
    )
    answer = sim.handle(
        "POST",
        f"https://{scm}/api/publish?RemoteBuild=true&Deployer=someone",
        {"Content-Type": "application/zip", **bearer()},
        other,
    )
    for _ in range(5):
        sim.handle("GET", f"https://{scm}/api/deployments/{answer.body}", bearer(), None)
    status = run_pros("status", "-o", "json")
    assert status.code == 3
    rows = {r["key"]: r for r in status.json()["resources"]}
    assert rows["function-code/westus"]["health"] == "degraded"
    assert "is not one pros made" in rows["function-code/westus"]["detail"]
    sim.reset_log()
    assert run_pros("deploy-functions", "-q").code == 0
    assert posts(sim, "/api/publish") == 1


def test_status_of_the_whole_deployment_is_healthy(sim):
    """Every part made (status hands each kind its state entry: the API's recorded definition hash
    too, which status used to report as "not recorded" drift)."""
    provision()
    for command in ("backends", "policies", "deploy-functions"):
        assert run_pros(command, "-q").code == 0
    status = run_pros("status", "-o", "json")
    assert status.code == 0, [r for r in status.json()["resources"] if r["health"] != "ok" or r["drift"]]


def test_teardown_deletes_the_subscription_before_the_topic_and_forgets_the_packages(sim, az_parser):
    provision()
    assert run_pros("deploy-functions", "-q").code == 0
    sim.reset_log()
    run = run_pros("teardown", "--yes")
    assert run.code == 0, run.err
    assert az_parser.failures(run.echoed) == []
    deletes = [e["path"] for e in sim.log_entries() if e["method"] == "DELETE"]
    first = next(i for i, p in enumerate(deletes) if p.endswith("/eventSubscriptions/token-processor"))
    topic = next(i for i, p in enumerate(deletes) if p.endswith(spec().names.eventgrid_topic()))
    assert first < topic
    history = {h["key"]: h["event"] for h in load_state()["history"]}
    assert history["function-code/token"] == "deleted" and history["eventgrid-subscription"] == "deleted"
    assert load_state()["resources"] == {}
    assert sim.resources_of_type("Microsoft.EventGrid/eventSubscriptions") == []


def test_an_interrupted_deployment_is_resumed_not_deployed_again(sim):
    provision()
    from pros_cli.resources.function_package import DeploymentPoller
    from pros_cli.resources.functions_graph import command_graph
    from pros_cli.resources.package_source import find_source

    s = spec()
    source = find_source(out_dir=Path(".pros/packages"))
    graph = {r.key: r for r in command_graph(s, source=source)}
    package = graph["function-code/token"]
    factory = clients(sim)
    poller = package.create(factory)
    token = poller.continuation_token()
    assert json.dumps(DeploymentPoller.decode(token)).count("sha256:") == 1
    sim.reset_log()
    resumed = command_graph(s, source=source)
    again = next(r for r in resumed if r.key == "function-code/token")
    body = again.create(factory, continuation_token=token).result()
    assert posts(sim, "/api/publish") == 0
    assert body["properties"]["functions"] == ["token_processor"]
    assert body["properties"]["deploymentId"] == DeploymentPoller.decode(token)["deploymentId"]


def test_a_deployment_that_finished_after_an_interruption_is_not_deployed_again(sim):
    """A run killed while its deployment ran left the deployment id in the state file; the
    deployment finished meanwhile. The next run recognises it as its own: nothing is sent."""
    provision()
    assert run_pros("deploy-functions", "-q").code == 0
    from pros_cli.resources.functions_graph import command_graph
    from pros_cli.resources.package_source import find_source
    from pros_cli.state import StateStore

    changed = functions_copy(Path("copy"))
    source_file = changed / "token_processor" / "function_app.py"
    source_file.write_text(source_file.read_text() + "\n# changed\n")
    s = spec()
    source = find_source(changed, out_dir=Path(".pros/packages"))
    package = next(r for r in command_graph(s, source=source) if r.key == "function-code/token")
    poller = package.create(clients(sim))  # the run that was killed: publish, token recorded
    state = StateStore.open(Path(".pros/demo.json"), base_name="demo", subscription_id=SUB, cloud="simulator")
    state.record_start(package.key, package.identity(), action="update", origin="created")
    state.record_token(package.key, poller.continuation_token())
    state.save()
    poller.result()  # the deployment finishes while nobody is looking
    sim.reset_log()
    run = run_pros("deploy-functions", "--functions-dir", str(changed), "-o", "json")
    assert run.code == 0, run.err
    assert posts(sim, "/api/publish") == 0
    outputs = load_state()["resources"]["function-code/token"]["outputs"]
    assert outputs["content_hash"] == content_hash(package.package())


def test_the_scm_host_comes_from_arm_and_the_token_is_for_arm(sim):
    provision()
    s = spec()
    hashed = f"{s.names.token_function_app()}-a1b2c3.scm.eastus-01.azurewebsites.net"
    with sim.transaction():
        states = sim.get_resource(site_id(s, s.names.token_function_app()))["body"]["properties"][
            "hostNameSslStates"
        ]
        for state in states:
            if state["hostType"] == "Repository":
                state["name"] = hashed
    from pros_cli.azure.scm import ARM_SCOPE, ScmSite
    from pros_cli.simulator.transport import SimulatorCredential

    asked: list[tuple[str, ...]] = []

    class Recording(SimulatorCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            asked.append(scopes)
            return super().get_token(*scopes, **kwargs)

        def get_token_info(self, *scopes: str, options: Any = None) -> Any:
            asked.append(scopes)
            return super().get_token_info(*scopes, options=options)

    factory = ClientFactory(SUB, cloud="simulator", simulator=sim, credential=Recording())
    assert ScmSite(factory, hashed).latest() is None
    assert asked and set(asked) == {(ARM_SCOPE,)}
    run = run_pros("deploy-functions", "-q")
    assert run.code == 0, run.err


@pytest.mark.parametrize("region", ["eastus"])
def test_a_region_added_later_gets_the_streaming_function_from_provision(sim, region):
    provision(region)
    assert run_pros("deploy-functions", "-q").code == 0
    sim.reset_log()
    provision(region, "westus")  # provision manages the parts later commands made
    assert posts(sim, "/api/publish") == 1
    state = load_state()["resources"]
    assert state["function-code/westus"]["outputs"]["functions"] == ["openai_backend"]
