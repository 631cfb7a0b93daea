"""The simulator's Function App data plane: the SCM site's deployment endpoints (Flex one deploy,
Kudu zip deploy), indexing with the real azure-functions library, ARM's function listing, and the
Event Grid extension's system key."""

from __future__ import annotations

import pytest
import requests

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import SECRET_MARKER
from pros_cli.simulator.functions_index import index_package
from pros_cli.simulator.providers.web import SETTINGS_KEY
from tests.conftest import SUB
from tests.simulator.scm_helpers import (
    app_copy,
    backend_package,
    bearer,
    body_id,
    deployment,
    finish,
    provision_token_stack,
    publish,
    scm_host,
    site,
    token_package,
    zip_of,
)


@pytest.fixture
def flex(engine):
    return provision_token_stack(engine)


def listed(memsim, spec) -> list[dict]:
    web = ClientFactory(SUB, cloud="simulator", simulator=memsim).web
    return [
        f.as_dict() for f in web.web_apps.list_functions(spec.resource_group, spec.names.token_function_app())
    ]


def test_the_scm_site_takes_only_an_entra_token_for_arm(memsim, flex):
    host = scm_host(memsim, flex)
    package = token_package()
    assert publish(memsim, host, package, headers={}).status == 401
    assert (
        publish(memsim, host, package, headers={"Authorization": "Basic JHNpdGU6cGFzc3dvcmQ="}).status == 401
    )
    wrong = bearer("https://eventgrid.azure.net/.default")
    assert publish(memsim, host, package, headers=wrong).status == 401
    assert publish(memsim, host, package, headers={"Authorization": "Bearer not-a-token"}).status == 401
    assert publish(memsim, host, package).status == 202


def test_flex_one_deploy_polls_to_success_then_arm_lists_the_function(memsim, flex):
    host = scm_host(memsim, flex)
    deployment_id = body_id(publish(memsim, host, token_package()))
    # Just after the publish, the deployment is not visible yet (azd's "come alive" mitigation).
    assert deployment(memsim, host, deployment_id).status == 404
    seen = []
    record = None
    for _ in range(10):
        answer = deployment(memsim, host, deployment_id)
        assert answer.status == 200  # Flex answers 200 whether the deployment runs or has ended
        seen.append(answer.body["status"])
        if answer.body["complete"]:
            record = answer.body
            break
    assert record is not None and record["status"] == 4 and seen[0] in (1, 2)
    assert record["deployer"] == "tests" and record["remoteBuild"] is True and record["active"] is True
    assert set(record) >= {"id", "status", "status_text", "received_time", "end_time", "complete", "log_url"}
    # The host syncs its triggers after the deployment: one more listing shows the old list.
    assert listed(memsim, flex) == []
    (fn,) = listed(memsim, flex)
    app = site(memsim, flex)["body"]
    assert fn["id"] == f"{app['id']}/functions/token_processor"
    assert fn["name"] == f"{app['name']}/token_processor"
    assert fn["type"] == "Microsoft.Web/sites/functions"
    props = fn["properties"]
    assert props["function_app_id"] == app["id"] and props["language"] == "python"
    assert props["config"]["bindings"] == [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]
    assert props["isDisabled"] is False and props["invoke_url_template"] is None


def test_an_event_grid_trigger_brings_the_eventgrid_extension_key(memsim, flex):
    web = ClientFactory(SUB, cloud="simulator", simulator=memsim).web
    keys = web.web_apps.list_host_keys(flex.resource_group, flex.names.token_function_app(), cls=raw_json)
    assert "eventgrid_extension" not in keys["systemKeys"]
    host = scm_host(memsim, flex)
    finish(memsim, host, body_id(publish(memsim, host, token_package())))
    keys = web.web_apps.list_host_keys(flex.resource_group, flex.names.token_function_app(), cls=raw_json)
    assert keys["systemKeys"]["eventgrid_extension"].startswith(SECRET_MARKER)


def test_a_package_that_fails_to_import_fails_its_deployment_and_lists_nothing(memsim, flex, tmp_path):
    from pros_cli.functions_package import build_package

    broken = app_copy(tmp_path)
    (broken / "function_app.py").write_text(
        "import azure.functions as func\nimport not_a_module_anywhere\napp = func.FunctionApp()\n"
    )
    host = scm_host(memsim, flex)
    record = finish(memsim, host, body_id(publish(memsim, host, build_package(broken, vendor=()))))
    assert record["status"] == 3
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in record["status_text"]
    assert listed(memsim, flex) == [] and listed(memsim, flex) == []


def test_indexing_runs_the_worker_s_own_rules(tmp_path):
    two_apps = zip_of(
        {
            "host.json": "{}",
            "function_app.py": "import azure.functions as func\n"
            "a = func.FunctionApp()\nb = func.FunctionApp()\n",
        }
    )
    assert "More than one FunctionApp" in index_package(two_apps, remote_build=False).error
    none = zip_of({"host.json": "{}", "function_app.py": "x = 1\n"})
    assert index_package(none, remote_build=False).error == (
        "ValueError: Could not find top level function app instances in function_app.py."
    )
    unknown = zip_of({"host.json": "{}", "function_app.py": "", "requirements.txt": "no-such-dist-here>=1\n"})
    result = index_package(unknown, remote_build=True)
    assert result.stage == "build" and "no-such-dist-here" in result.error
    assert index_package(b"not a zip", remote_build=True).error == "the package is not a valid zip file"
    # The package's own imports come only from what its requirements name (pros_cli is not there).
    sneaky = zip_of({"host.json": "{}", "function_app.py": "import pros_cli.spec\n"})
    assert "No module named 'pros_cli'" in index_package(sneaky, remote_build=True).error


def test_the_real_apps_index_to_the_functions_pros_expects():
    from pros_cli.resources.functions_graph import APPS

    for package, folder in ((token_package(), "token_processor"), (backend_package(), "openai_backend")):
        result = index_package(package, remote_build=True)
        assert result.error is None
        assert tuple(f["name"] for f in result.functions) == APPS[folder][0]


def test_flex_refuses_settings_it_does_not_support(memsim, flex):
    stored = site(memsim, flex)
    stored["body"][SETTINGS_KEY]["SCM_DO_BUILD_DURING_DEPLOYMENT"] = "true"
    host = scm_host(memsim, flex)
    record = finish(memsim, host, body_id(publish(memsim, host, token_package())))
    assert record["status"] == 3 and "SCM_DO_BUILD_DURING_DEPLOYMENT" in record["status_text"]


def test_flex_needs_the_app_identity_s_access_to_its_deployment_storage(memsim, flex):
    for assignment in memsim.resources_of_type("Microsoft.Authorization/roleAssignments"):
        memsim.remove_resource(assignment)
    host = scm_host(memsim, flex)
    record = finish(memsim, host, body_id(publish(memsim, host, token_package())))
    assert record["status"] == 3 and "403" in record["status_text"]


def test_one_deployment_at_a_time_and_an_unknown_host_does_not_resolve(memsim, flex):
    host = scm_host(memsim, flex)
    assert publish(memsim, host, token_package()).status == 202
    assert publish(memsim, host, token_package()).status == 409
    session = requests.Session()
    from pros_cli.simulator.transport import SimulatorAdapter

    session.mount("https://", SimulatorAdapter(memsim))
    with pytest.raises(requests.ConnectionError):
        session.post("https://nobody.scm.azurewebsites.net/api/publish", data=b"x", headers=bearer())


def test_linux_consumption_zip_deploy_builds_only_with_the_remote_build_settings(memsim, engine):
    spec = provision_token_stack(engine, plan="consumption")
    host = scm_host(memsim, spec)
    url = f"https://{host}/api/zipdeploy?isAsync=true&deployer=tests&message=hello"
    headers = {"Content-Type": "application/octet-stream", **bearer()}

    def deploy() -> dict:
        answer = memsim.handle("POST", url, headers, token_package())
        assert answer.status == 202 and "/api/deployments/latest" in answer.headers["Location"]
        for _ in range(10):
            polled = memsim.handle("GET", answer.headers["Location"], bearer(), None)
            if polled.status == 200:
                return polled.body
            assert polled.status == 202
        raise AssertionError("zip deploy never completed")

    record = deploy()  # no remote build: requirements.txt is not installed, redis is missing
    assert record["status"] == 3 and "No module named 'redis'" in record["status_text"]
    assert record["message"] == "hello" and record["deployer"] == "tests"
    site(memsim, spec)["body"][SETTINGS_KEY].update(
        {"SCM_DO_BUILD_DURING_DEPLOYMENT": "true", "ENABLE_ORYX_BUILD": "true"}
    )
    record = deploy()
    assert record["status"] == 4 and record["status_text"] == ""
    listed(memsim, spec)
    assert [f["properties"]["name"] for f in listed(memsim, spec)] == ["token_processor"]


def test_an_app_created_again_has_nothing_deployed(memsim, engine, flex):
    host = scm_host(memsim, flex)
    finish(memsim, host, body_id(publish(memsim, host, token_package())))
    listed(memsim, flex)
    assert len(listed(memsim, flex)) == 1
    stored = site(memsim, flex)
    memsim.remove_resource(stored)
    provision_token_stack(engine)
    assert listed(memsim, flex) == []
    assert memsim.handle("GET", f"https://{host}/api/deployments/latest", bearer(), None).status == 404
