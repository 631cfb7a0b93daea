"""pros backends against the simulator: regional backends, priority pools, named values, the API
and its product in every gateway; idempotent, echoed, secrets kept out of every output."""

from __future__ import annotations

import json

import pytest

from pros_cli.azure.clients import raw_json
from pros_cli.policy import OPENAPI_SPEC
from pros_cli.simulator.core import SECRET_MARKER
from tests.cli.gateway_helpers import (
    apim,
    backend,
    pool_members,
    provision,
    rotate_function_key,
    service,
    spec,
    topic_endpoint,
    web,
    writes,
)
from tests.conftest import assert_no_secrets, load_state, run_pros


@pytest.mark.parametrize("regions", [("eastus", "westus"), ("eastus", "westus", "westeurope")])
def test_each_gateways_pools_put_its_own_region_first(sim, regions, no_secret_leaks):
    provision(*regions)
    run = run_pros("backends")
    assert run.code == 0, run.err
    assert_no_secrets(run.out, run.err)
    s = spec(*regions)
    for g in regions:
        for pool, prefix in (("openai-pool", "openai"), ("functions-pool", "func")):
            members = {name: (priority, weight) for name, priority, weight in pool_members(sim, s, g, pool)}
            assert members == {f"{prefix}-{r}": (1 if r == g else 2, 1) for r in regions}
            body = backend(sim, s, g, pool)
            service_id = body["id"].rsplit("/backends/", 1)[0]
            assert all(
                m["id"].startswith(service_id + "/backends/") for m in body["properties"]["pool"]["services"]
            )


def test_the_regional_backends_named_values_api_and_product_of_one_gateway(sim, no_secret_leaks):
    provision()
    assert run_pros("backends", "-q").code == 0
    s = spec()
    client = apim(sim)
    where = service(s, "westus")
    for r in ("eastus", "westus"):
        openai = backend(sim, s, "westus", f"openai-{r}")["properties"]
        assert openai["url"] == f"https://{s.names.openai(r)}.openai.azure.com/openai"
        assert openai["protocol"] == "http"
        (rule,) = openai["circuitBreaker"]["rules"]
        assert rule["failureCondition"]["statusCodeRanges"] == [
            {"min": 429, "max": 429},
            {"min": 500, "max": 599},
        ]
        assert rule["failureCondition"]["count"] == 1
        assert rule["failureCondition"]["interval"] == "PT1M" and rule["tripDuration"] == "PT1M"
        assert rule["acceptRetryAfter"] is True
        func = backend(sim, s, "westus", f"func-{r}")["properties"]
        host = web(sim).web_apps.get("rg-demo", s.names.function_app(r)).default_host_name
        assert func["url"] == f"https://{host}/openai"
        assert func["credentials"]["header"] == {"x-functions-key": [f"{{{{pros-func-key-{r}}}}}"]}
        assert func["circuitBreaker"] == openai["circuitBreaker"]
        # The function key is a secret named value: never returned by GET, equal to the app's key.
        key = client.named_value.get(*where, f"pros-func-key-{r}", cls=raw_json)["properties"]
        assert key["secret"] is True and "value" not in key
        host_key = (
            web(sim).web_apps.list_host_keys("rg-demo", s.names.function_app(r)).function_keys["default"]
        )
        assert client.named_value.list_value(*where, f"pros-func-key-{r}").value == host_key
    region = client.named_value.get(*where, "pros-region", cls=raw_json)["properties"]
    assert region["value"] == "westus" and region["secret"] is False
    endpoint = client.named_value.get(*where, "pros-eventgrid-endpoint", cls=raw_json)["properties"]["value"]
    assert endpoint == topic_endpoint(sim, s)
    api = client.api.get(*where, "openai", cls=raw_json)["properties"]
    assert api["path"] == "openai"
    assert api["subscriptionRequired"] is True
    assert api["subscriptionKeyParameterNames"]["header"] == "api-key"
    assert api["serviceUrl"] == f"https://{s.names.openai('westus')}.openai.azure.com/openai"
    operations = {
        (o.method, o.url_template.split("?")[0]) for o in client.api_operation.list_by_api(*where, "openai")
    }
    paths = json.loads(OPENAPI_SPEC.read_text())["paths"]
    assert operations == {(m.upper(), p) for p, item in paths.items() for m in item if m != "parameters"}
    product = client.product.get(*where, "pros-openai", cls=raw_json)["properties"]
    assert product["state"] == "published" and product["subscriptionRequired"] is True
    assert client.product_api.check_entity_exists(*where, "pros-openai", "openai") is True


def test_a_rerun_makes_zero_writes_and_echoes_nothing(sim):
    provision()
    assert run_pros("backends", "-q").code == 0
    sim.reset_log()
    run = run_pros("backends")
    assert run.code == 0, run.err
    assert writes(sim) == []
    assert run.echoed == []
    state = load_state()
    assert state["resources"]["apim/eastus/backends/openai-pool"]["status"] == "succeeded"


def test_adding_a_region_updates_every_pool(sim):
    """Once the gateways have their backends, adding a region with provision gives every gateway
    the new region's backends and puts it in every pool (issue 6); pros backends then has nothing
    left to do."""
    provision("eastus", "westus")
    assert run_pros("backends", "-q").code == 0
    added = run_pros("provision", "-l", "eastus", "-l", "westus", "-l", "westeurope", "-o", "json")
    assert added.code == 0, added.err
    s = spec("eastus", "westus", "westeurope")
    for g in ("eastus", "westus", "westeurope"):
        for pool, prefix in (("openai-pool", "openai"), ("functions-pool", "func")):
            members = pool_members(sim, s, g, pool)
            assert len(members) == 3
            assert [m[0] for m in members if m[1] == 1] == [f"{prefix}-{g}"]
    changed = {r["key"]: r["action"] for r in added.json()["resources"] if r["action"] != "no-op"}
    for g in ("eastus", "westus"):
        assert changed[f"apim/{g}/backends/openai-pool"] == "update"
        assert changed[f"apim/{g}/backends/functions-pool"] == "update"
        assert changed[f"apim/{g}/backends/openai-westeurope"] == "create"
    assert changed["apim/westeurope/backends/openai-pool"] == "create"
    assert not any(key.startswith(("apim/eastus/apis", "apim/westus/products")) for key in changed)
    assert not any(key.endswith("/policy") for key in changed)  # pros policies has not run: no policy part
    sim.reset_log()
    again = run_pros("backends", "-o", "json")
    assert again.code == 0, again.err
    assert writes(sim) == []


def test_the_consumption_tier_with_a_circuit_breaker_is_refused_before_any_request(sim, az_parser):
    provision("eastus", extra=("--apim-sku", "Consumption"))
    sim.reset_log()
    run = run_pros("backends")
    assert run.code == 2
    assert "Consumption tier has no backend circuit breaker" in run.err
    assert "--no-circuit-breaker" in run.err
    assert sim.log_entries() == []
    without = run_pros("backends", "--no-circuit-breaker")
    assert without.code == 0, without.err
    assert "circuitBreaker" not in backend(sim, spec("eastus"), "eastus", "openai-eastus")["properties"]
    plain = [line for line in without.echoed if line.startswith("az apim backend create")]
    assert (
        len(plain) == 1 and "--backend-id openai-eastus" in plain[0]
    )  # func-eastus has credentials: az rest
    assert az_parser.failures(without.echoed) == []


def test_without_a_provisioned_deployment_nothing_is_read(sim):
    run = run_pros("backends", "--base-name", "demo")
    assert run.code == 2
    assert "run `pros provision` first" in run.err
    assert sim.log_entries() == []


def test_a_missing_gateway_stops_the_plan_and_changes_nothing(sim):
    provision()
    s = spec()
    apim(sim).api_management_service.begin_delete(*service(s, "westus")).result()
    sim.reset_log()
    run = run_pros("backends")
    assert run.code == 1
    assert (
        f"API Management service {s.names.apim('westus')} (westus) does not exist; run `pros provision` first"
        in run.err
    )
    assert "nothing was changed" in run.err
    assert writes(sim) == []


def test_a_rotated_function_key_is_written_again_without_showing_it(sim, no_secret_leaks):
    provision()
    assert run_pros("backends", "-q").code == 0
    s = spec()
    rotate_function_key(sim, s, "eastus", SECRET_MARKER + "rotated")
    plan = run_pros("backends", "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    assert_no_secrets(plan.out, plan.err)
    changes = {
        c["id"].rsplit("/", 1)[-1] + "@" + c["region"]: c
        for c in plan.json()["changes"]
        if c["action"] != "no-op"
    }
    assert set(changes) == {"pros-func-key-eastus@eastus", "pros-func-key-eastus@westus"}
    change = changes["pros-func-key-eastus@eastus"]
    assert change["reasons"] == ["set the value: the secret value differs (value not shown)"]
    assert change["az"][0].endswith('--value "${PROS_FUNC_KEY_EASTUS}" --secret true')
    sim.reset_log()
    run = run_pros("backends")
    assert run.code == 0, run.err
    assert_no_secrets(run.out, run.err)
    assert len(writes(sim)) == 2
    where = service(s, "westus")
    assert apim(sim).named_value.list_value(*where, "pros-func-key-eastus").value == SECRET_MARKER + "rotated"


def test_gateway_settings_are_recorded_and_kept(sim):
    provision()
    assert run_pros("backends", "-q").code == 0
    run = run_pros("backends", "--breaker-failures", "3", "--breaker-trip", "90", "-q")
    assert run.code == 0, run.err
    s = spec()
    (rule,) = backend(sim, s, "eastus", "openai-westus")["properties"]["circuitBreaker"]["rules"]
    assert rule["failureCondition"]["count"] == 3 and rule["tripDuration"] == "PT1M30S"
    assert load_state()["spec"]["breaker_failures"] == 3
    sim.reset_log()
    assert run_pros("backends", "-q").code == 0
    assert writes(sim) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--breaker-failures", "0"), "--breaker-failures"),
        (("--breaker-interval", "100000"), "--breaker-interval"),
        (("--spec-file", "missing.json"), "does not exist"),
    ],
)
def test_bad_settings_are_refused_before_any_request(sim, args, message):
    provision()
    sim.reset_log()
    run = run_pros("backends", *args)
    assert run.code == 2
    assert message in run.err
    assert sim.log_entries() == []


def test_another_api_definition_is_imported_once_and_drift_of_the_live_api_is_repaired(sim, tmp_path):
    provision("eastus")
    assert run_pros("backends", "-q").code == 0
    doc = json.loads(OPENAPI_SPEC.read_text())
    del doc["paths"]["/v1/models"]
    other = tmp_path / "smaller.json"
    other.write_text(json.dumps(doc))
    sim.reset_log()
    run = run_pros("backends", "--spec-file", str(other))
    assert run.code == 0, run.err
    assert writes(sim) == [
        f"PUT /subscriptions/{spec().subscription_id}/resourceGroups/rg-demo/providers/"
        f"Microsoft.ApiManagement/service/{spec().names.apim('eastus')}/apis/openai"
    ]
    where = service(spec(), "eastus")
    urls = {o.url_template.split("?")[0] for o in apim(sim).api_operation.list_by_api(*where, "openai")}
    assert "/v1/models" not in urls and "/v1/chat/completions" in urls
    echoed = [line for line in run.echoed if line.startswith("az apim api import")]
    assert echoed and f"--specification-path {other}" in echoed[0]
    assert load_state()["spec"]["spec_file"] == str(other)

    sim.reset_log()
    assert run_pros("backends", "-q").code == 0  # the recorded file: no re-import
    assert writes(sim) == []

    apim(sim).api_operation.delete(*where, "openai", "v1-chat-completions", if_match="*")
    plan = run_pros("backends", "--dry-run", "-o", "json")
    (change,) = [c for c in plan.json()["changes"] if c["action"] != "no-op"]
    assert change["name"] == "openai" and any("operations" in r for r in change["reasons"])
    assert run_pros("backends", "-q").code == 0
    urls = {o.url_template.split("?")[0] for o in apim(sim).api_operation.list_by_api(*where, "openai")}
    assert "/v1/chat/completions" in urls


def test_a_gateway_still_being_created_is_waited_for_by_provision_not_by_backends(sim):
    sim.configure(profile="stuck")  # API Management takes 30-90 minutes in Azure
    started = run_pros("provision", "--base-name", "demo", "--region", "eastus", "--no-wait", "-q")
    assert started.code == 0, started.err
    sim.reset_log()
    run = run_pros("backends")
    assert run.code == 1
    name = spec("eastus").names.apim("eastus")
    assert f"API Management service {name} (eastus) is still being created or changed" in run.err
    assert "run `pros provision` again" in run.err
    assert writes(sim) == []


def test_a_removed_region_leaves_every_remaining_pool(sim):
    """provision --prune removing a region updates every remaining gateway's pools first, then
    deletes that region's backends (and its function key) in them, and the region itself."""
    provision("eastus", "westus", "westeurope")
    assert run_pros("backends", "-q").code == 0
    sim.reset_log()
    run = run_pros("provision", "-l", "eastus", "-l", "westus", "--prune")
    assert run.code == 0, run.err
    s = spec("eastus", "westus")
    for g in ("eastus", "westus"):
        for pool, prefix in (("openai-pool", "openai"), ("functions-pool", "func")):
            members = {name: priority for name, priority, _ in pool_members(sim, s, g, pool)}
            assert members == {f"{prefix}-{g}": 1, f"{prefix}-{'westus' if g == 'eastus' else 'eastus'}": 2}
    log = writes(sim)  # "METHOD path", in order
    for g in ("eastus", "westus"):
        name = s.names.apim(g)
        backend_delete = log.index(
            next(
                w for w in log if w.startswith("DELETE") and w.endswith(f"{name}/backends/openai-westeurope")
            )
        )
        assert any(
            w.startswith("DELETE") and w.endswith(f"{name}/namedValues/pros-func-key-westeurope") for w in log
        )
        pool_update = max(i for i, w in enumerate(log) if w.endswith(f"{name}/backends/openai-pool"))
        assert pool_update < backend_delete  # the pool stops naming it before it goes
    sim.reset_log()
    assert run_pros("backends", "-q").code == 0
    assert writes(sim) == []
