"""pros provision of the whole multi-region deployment, end to end against the simulator:
partial failure, soft-deleted names, regional availability, custom domain, summary, options."""

from __future__ import annotations

import json

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import SECRET_MARKER, Simulator
from pros_cli.simulator.providers import web
from pros_cli.spec import build_spec
from tests.conftest import SUB, assert_no_secrets, load_state, run_pros, state_file
from tests.vaults import make_vault

WRITES = ("PUT", "PATCH", "DELETE")
VAULT_RG = "rg-operator-secrets"
VAULT = "kv-operator"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/{VAULT_RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
CERT = f"https://{VAULT}.vault.azure.net/secrets/gateway-cert"


def spec(**overrides):
    return build_spec(base_name="demo", subscription_id=SUB, **overrides)


def statuses(run) -> dict[str, str]:
    return {r["key"]: r["status"] for r in run.json()["resources"]}


def test_one_quota_failure_skips_its_dependents_and_a_rerun_completes(sim):
    # The preflight saw enough quota; someone else's deployment took it before pros's write landed.
    west = spec().names.openai("westus")
    quota = "Tokens Per Minute (thousands) - GPT-5.2 - GlobalStandard"
    sim.inject(
        method="PUT",
        path_regex=rf"/accounts/{west}/deployments/gpt-5\.2$",
        status=400,
        code="InsufficientQuota",
        message=f"This operation require 30 new capacity in quota {quota}, which is bigger than the "
        f"current available capacity 0. The current quota usage is 1000 and the quota limit is 1000 for "
        f"quota {quota}.",
        times=-1,
    )
    run = run_pros("provision", "--base-name", "demo", "-o", "json")
    assert run.code == 1
    status = statuses(run)
    assert status["openai/westus/deployments/gpt-5.2"] == "failed"
    assert status["function-settings/westus"] == "skipped"  # the app's settings name the deployment
    failed = [k for k, v in status.items() if v == "failed"]
    skipped = [k for k, v in status.items() if v == "skipped"]
    assert failed == ["openai/westus/deployments/gpt-5.2"]
    assert skipped == ["function-settings/westus"]
    assert all(v == "succeeded" for k, v in status.items() if k not in failed + skipped)
    error = next(line for line in run.err.splitlines() if line.startswith("error:"))
    assert "InsufficientQuota" in error and "westus" in error and "Tokens Per Minute" in error
    assert "skipped because something they depend on failed" in run.err

    sim.clear_injections()
    writes = sim.count(*WRITES)
    rerun = run_pros("provision", "--base-name", "demo", "-o", "json")
    assert rerun.code == 0, rerun.err
    changed = {k for k, v in statuses(rerun).items() if v == "succeeded"}
    assert changed == {"openai/westus/deployments/gpt-5.2", "function-settings/westus"}
    assert sim.count(*WRITES) == writes + 2


def test_both_api_management_services_start_in_the_first_wave(sim):
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 0, run.err
    puts = [e["path"] for e in sim.log_entries() if e["method"] == "PUT" and not e.get("fault")]
    assert "resourcegroups" in puts[0].lower()
    first_wave = puts[1:9]  # the default parallelism
    assert sum("Microsoft.ApiManagement/service/" in p for p in first_wave) == 2


def soft_delete_apim(sim: Simulator, region: str = "eastus") -> str:
    """Provision, then delete one APIM service (it stays soft-deleted) and forget the state."""
    assert run_pros("provision", "--base-name", "demo", "-q").code == 0
    name = spec().names.apim(region)
    ClientFactory(SUB, cloud="simulator", simulator=sim).apim.api_management_service.begin_delete(
        "rg-demo", name
    ).result()
    return name


def test_a_soft_deleted_apim_stops_provision_with_the_purge_command(sim):
    name = soft_delete_apim(sim)
    writes = sim.count(*WRITES)
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 1
    assert "soft-deleted" in run.err
    assert f"az apim deletedservice purge --service-name {name} -l eastus" in run.err
    assert "--restore-soft-deleted" in run.err
    assert "nothing was changed" in run.err
    assert sim.count(*WRITES) == writes


def test_restore_soft_deleted_brings_the_apim_back(sim):
    name = soft_delete_apim(sim)
    run = run_pros("provision", "--base-name", "demo", "--restore-soft-deleted", "-o", "json")
    assert run.code == 0, run.err
    assert statuses(run)["apim/eastus"] == "succeeded"
    restored = ClientFactory(SUB, cloud="simulator", simulator=sim).apim.api_management_service.get(
        "rg-demo", name, cls=raw_json
    )
    assert restored["properties"]["provisioningState"] == "Succeeded"
    assert run_pros("provision", "--base-name", "demo").echoed == []


def test_a_plan_not_offered_in_a_region_fails_before_anything_is_created(sim):
    web.set_geo_regions(sim, web.FLEX, ["eastus", "westeurope"])
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 1
    assert "westus" in run.err and "Flex Consumption" in run.err
    assert "eastus" in run.err and "westeurope" in run.err.lower().replace("west europe", "westeurope")
    assert sim.count(*WRITES) == 0


def test_linux_consumption_is_an_option(sim):
    run = run_pros("provision", "--base-name", "demo", "--function-plan", "consumption", "-o", "json")
    assert run.code == 0, run.err
    keys = set(statuses(run))
    assert not any(k.startswith("function-package/") for k in keys)  # Flex only
    plans = [r["body"] for r in sim.db["resources"].values() if r["type"] == "Microsoft.Web/serverfarms"]
    sim.reload()
    plans = [r["body"] for r in sim.db["resources"].values() if r["type"] == "Microsoft.Web/serverfarms"]
    assert {p["sku"]["name"] for p in plans} == {"Y1"}


def test_custom_domain_on_every_gateway_with_the_cname_to_create(sim, no_secret_leaks):
    make_vault(ClientFactory(SUB, cloud="simulator", simulator=sim), VAULT_ID)
    args = (
        "provision",
        "--base-name",
        "demo",
        "--custom-domain",
        "api.contoso.com",
        "--certificate-secret-id",
        CERT,
        "-o",
        "json",
    )
    run = run_pros(*args)
    assert run.code == 0, run.err
    data = run.json()
    fqdn = data["endpoints"]["traffic_manager_fqdn"]
    assert data["endpoints"]["custom_domain"]["dns_record"] == {
        "type": "CNAME",
        "name": "api.contoso.com",
        "value": fqdn,
    }
    sim.reload()
    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    for region in ("eastus", "westus"):
        service = clients.apim.api_management_service.get("rg-demo", spec().names.apim(region), cls=raw_json)
        hosts = {h["hostName"]: h for h in service["properties"]["hostnameConfigurations"]}
        assert hosts["api.contoso.com"]["keyVaultId"] == CERT
        assert f"{spec().names.apim(region)}.azure-api.net" in hosts  # the default name stays
    grants = [
        r["body"]
        for r in sim.db["resources"].values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
        and r["body"]["properties"]["scope"].lower() == VAULT_ID.lower()
    ]
    assert len(grants) == 2
    assert all(
        g["properties"]["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6") for g in grants
    )
    assert load_state()["resources"]["keyvault"]["origin"] == "pre-existing"
    table = run_pros(*args[:-2])
    assert table.code == 0
    assert f"api.contoso.com CNAME {fqdn}" in table.out
    assert table.echoed == []  # the second run changed nothing


def test_custom_domain_with_a_missing_vault_fails_the_plan(sim):
    run = run_pros(
        "provision",
        "--base-name",
        "demo",
        "--custom-domain",
        "api.contoso.com",
        "--certificate-secret-id",
        CERT,
    )
    assert run.code == 1
    assert VAULT in run.err and "does not exist" in run.err
    assert sim.count(*WRITES) == 0


def test_summary_lists_gateways_and_says_traffic_manager_is_dns_only(sim):
    run = run_pros("provision", "--base-name", "demo", "-o", "json")
    assert run.code == 0, run.err
    endpoints = run.json()["endpoints"]
    s = spec()
    assert endpoints["gateways"] == {
        r: f"https://{s.names.apim(r)}.azure-api.net" for r in ("eastus", "westus")
    }
    assert endpoints["openai_endpoints"]["westus"] == f"https://{s.names.openai('westus')}.openai.azure.com/"
    assert endpoints["eventgrid_endpoint"].endswith("/api/events")
    assert endpoints["redis"] == {
        "host": f"{s.names.redis()}.eastus.redis.azure.net",
        "port": 10000,
        "cache_kind": "managed",
        "product": "Azure Managed Redis",
        "auth": "entra",
    }
    assert endpoints["custom_domain"] is None
    assert "DNS only" in endpoints["global_name"]
    table = run_pros("provision", "--base-name", "demo")
    assert "Traffic Manager answers DNS only" in table.out
    host = f"{s.names.redis()}.eastus.redis.azure.net"
    assert f"Redis:            {host}:10000 (Azure Managed Redis; TLS, Microsoft Entra ID)" in table.out
    for region in ("eastus", "westus"):
        assert f"https://{s.names.apim(region)}.azure-api.net" in table.out


def test_no_secret_reaches_output_state_or_script(sim, isolated, no_secret_leaks):
    script = isolated / "replay.sh"
    run = run_pros(
        "provision", "--base-name", "demo", "--verbose", "--emit-script", str(script), "-o", "json"
    )
    assert run.code == 0, run.err
    assert_no_secrets(run.out, run.err, script.read_text(), state_file().read_text())
    # No key anywhere in the default path: Redis takes the token processor's Entra identity.
    assert "list-keys" not in script.read_text() and "REDIS_KEY" not in run.err
    assert not [e for e in sim.log_entries() if e["path"].lower().endswith("/listkeys")]
    sim.reload()
    app = next(
        r["body"]
        for r in sim.db["resources"].values()
        if r["body"]["name"] == spec().names.token_function_app()
    )
    assert SECRET_MARKER not in json.dumps(app)


def test_models_and_skus_from_options_and_config_file(sim, isolated):
    config = isolated / "pros.toml"
    config.write_text(
        'regions = ["eastus", "westus", "westeurope"]\n'
        'apim_sku = "Developer"\n'
        'publisher_email = "platform@contoso.com"\n'
        "[[models]]\n"
        'name = "chat"\nmodel = "gpt-5.2"\nversion = "2025-12-11"\ncapacity = 50\n'
    )
    run = run_pros(
        "provision",
        "--base-name",
        "demo",
        "--config",
        str(config),
        "--dry-run",
        "-o",
        "json",
        "--region",
        "eastus",
        "--region",
        "japaneast",
    )
    assert run.code == 0, run.err
    changes = run.json()["changes"]
    deployments = [c for c in changes if c["type"].endswith("/deployments")]
    assert {c["region"] for c in deployments} == {"eastus", "japaneast"}  # the option wins over the file
    assert {c["name"] for c in deployments} == {"chat"}
    assert any(
        "--model-version 2025-12-11" in line and "--sku-capacity 50" in line
        for c in deployments
        for line in c["az"]
    )
    apim = next(c for c in changes if c["type"] == "Microsoft.ApiManagement/service")
    assert "platform@contoso.com" in " ".join(apim["az"])
    override = run_pros(
        "provision",
        "--base-name",
        "demo",
        "--dry-run",
        "-o",
        "json",
        "--model",
        "gpt-5.2",
        "--model",
        "emb=text-embedding-3-large:1",
        "--model-capacity",
        "10",
    )
    assert override.code == 0, override.err
    lines = [line for c in override.json()["changes"] for line in c["az"] if "deployment create" in line]
    assert any("--deployment-name emb" in line and "--sku-capacity 10" in line for line in lines)


def test_bad_config_file_is_a_usage_error(sim, isolated):
    config = isolated / "pros.toml"
    config.write_text('regionz = ["eastus"]\n')
    run = run_pros("provision", "--base-name", "demo", "--config", str(config))
    assert run.code == 2
    assert "regionz" in run.err and "unknown setting" in run.err
    assert sim.count() == 0
    missing = run_pros("provision", "--base-name", "demo", "--config", str(isolated / "nope.toml"))
    assert missing.code == 2 and "does not exist" in missing.err
