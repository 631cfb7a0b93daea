"""pros provision and Redis without keys: Azure Managed Redis by default, Azure Cache for Redis with
Entra ID on request, access for the token processor and each usage reader, and no key anywhere."""

from __future__ import annotations

import json
from typing import Any

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import Simulator
from pros_cli.spec import build_spec
from tests.conftest import SUB, assert_no_secrets, load_state, run_pros, state_file

WRITES = ("PUT", "PATCH", "DELETE")
ACR = "azure-cache-for-redis"
READER = "6497c918-11ad-41e7-bf0f-7c518a87d0b0"
OTHER_READER = "0d7c1b7e-3f43-4a55-9b54-5c0f7a3e2d11"
REDIS_SETTINGS = {"REDIS_HOST", "REDIS_PORT", "REDIS_SSL", "REDIS_AUTH"}


def spec(**overrides: Any) -> Any:
    return build_spec(base_name="demo", subscription_id=SUB, **overrides)


def stored(sim: Simulator, arm_type: str) -> list[dict[str, Any]]:
    sim.reload()
    return [sim.render(r) for r in sim.resources_of_type(arm_type)]


def token_settings(sim: Simulator) -> dict[str, str]:
    web = ClientFactory(SUB, cloud="simulator", simulator=sim).web
    s = spec()
    listed = web.web_apps.list_application_settings(
        s.resource_group, s.names.token_function_app(), cls=raw_json
    )
    return dict(listed["properties"])


def writes(sim: Simulator) -> list[tuple[str, str]]:
    return [
        (e["method"], e["path"]) for e in sim.log_entries() if e["method"] in WRITES and not e.get("fault")
    ]


def test_default_provision_creates_managed_redis_and_no_key_reaches_anything(sim, isolated, no_secret_leaks):
    script = isolated / "replay.sh"
    run = run_pros("provision", "--base-name", "demo", "--verbose", "--emit-script", str(script))
    assert run.code == 0, run.err
    s = spec()
    [cluster] = stored(sim, "Microsoft.Cache/redisEnterprise")
    assert cluster["name"] == s.names.redis() and cluster["sku"] == {"name": "Balanced_B0"}
    assert cluster["location"] == "East US" and cluster["tags"] == s.tags()
    [database] = stored(sim, "Microsoft.Cache/redisEnterprise/databases")
    assert database["properties"]["clientProtocol"] == "Encrypted"
    assert database["properties"]["accessKeysAuthentication"] == "Disabled"
    assert database["properties"]["clusteringPolicy"] == "EnterpriseCluster"
    assert database["properties"]["evictionPolicy"] == "NoEviction"
    [grant] = stored(sim, "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments")
    app = next(b for b in stored(sim, "Microsoft.Web/sites") if b["name"] == s.names.token_function_app())
    assert grant["properties"]["user"]["objectId"] == app["identity"]["principalId"]
    assert stored(sim, "Microsoft.Cache/Redis") == []
    settings = token_settings(sim)
    assert {k: v for k, v in settings.items() if k.startswith("REDIS_")} == {
        "REDIS_HOST": f"{s.names.redis()}.eastus.redis.azure.net",
        "REDIS_PORT": "10000",
        "REDIS_SSL": "true",
        "REDIS_AUTH": "entra",
    }
    # No key anywhere: never asked for, never echoed, stored or scripted.
    assert not [e for e in sim.log_entries() if e["path"].lower().endswith("/listkeys")]
    text = script.read_text()
    assert_no_secrets(run.out, run.err, text, state_file().read_text())
    assert "REDIS_KEY" not in run.err + text and "list-keys" not in text
    assert "# by hand: az redisenterprise create" in text  # the note above the az rest line
    outputs = load_state()["resources"]["redis"]["outputs"]
    assert outputs == {
        "host_name": f"{s.names.redis()}.eastus.redis.azure.net",
        "port": 10000,
        "cache_kind": "managed",
    }

    before = sim.count(*WRITES)
    again = run_pros("provision", "--base-name", "demo")
    assert again.code == 0, again.err
    assert sim.count(*WRITES) == before  # a re-run makes zero writes


def test_a_usage_reader_added_later_is_exactly_one_new_assignment(sim):
    assert run_pros("provision", "--base-name", "demo", "--usage-reader", READER).code == 0
    sim.reset_log()
    run = run_pros(
        "provision", "--base-name", "demo", "--usage-reader", READER, "--usage-reader", OTHER_READER
    )
    assert run.code == 0, run.err
    [(method, path)] = writes(sim)
    assert method == "PUT" and "/databases/default/accessPolicyAssignments/" in path
    readers = [
        g["properties"]["user"]["objectId"]
        for g in stored(sim, "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments")
    ]
    assert (
        len(readers) == 3 and readers.count(READER) == readers.count(OTHER_READER) == 1
    )  # and the processor
    assert load_state()["spec"]["usage_readers"] == [READER, OTHER_READER]


def test_azure_cache_for_redis_kind_uses_entra_and_warns_that_it_is_retiring(sim, az_parser, no_secret_leaks):
    run = run_pros("provision", "--base-name", "demo", "--cache-kind", ACR, "--usage-reader", READER)
    assert run.code == 0, run.err
    warning = next(line for line in run.err.splitlines() if "retiring" in line)
    assert warning.startswith("warning:") and "2028-09-30" in warning and "2027-03-31" in warning
    s = spec(cache_kind=ACR)
    [cache] = stored(sim, "Microsoft.Cache/Redis")
    props = cache["properties"]
    assert (
        props["disableAccessKeyAuthentication"] is True
        and props["redisConfiguration"]["aad-enabled"] == "true"
    )
    assert props["sku"] == {"name": "Standard", "family": "C", "capacity": 1}
    grants = {
        g["properties"]["objectIdAlias"]: g["properties"]
        for g in stored(sim, "Microsoft.Cache/Redis/accessPolicyAssignments")
    }
    app = next(b for b in stored(sim, "Microsoft.Web/sites") if b["name"] == s.names.token_function_app())
    assert grants["pros-token-processor"]["accessPolicyName"] == "Data Contributor"
    assert grants["pros-token-processor"]["objectId"] == app["identity"]["principalId"]
    assert grants[f"pros-usage-reader-{READER[:8]}"] == {
        "accessPolicyName": "Data Reader",
        "objectId": READER,
        "objectIdAlias": f"pros-usage-reader-{READER[:8]}",
        "provisioningState": "Succeeded",
    }
    assert stored(sim, "Microsoft.Cache/redisEnterprise") == []
    settings = token_settings(sim)
    assert {k: settings[k] for k in REDIS_SETTINGS} == {
        "REDIS_HOST": f"{s.names.redis()}.redis.cache.windows.net",
        "REDIS_PORT": "6380",
        "REDIS_SSL": "true",
        "REDIS_AUTH": "entra",
    }
    assert not [e for e in sim.log_entries() if e["path"].lower().endswith("/listkeys")]
    assert_no_secrets(run.out, run.err, state_file().read_text())
    assert load_state()["resources"]["redis"]["outputs"] == {
        "host_name": f"{s.names.redis()}.redis.cache.windows.net",
        "port": 6380,
        "cache_kind": ACR,
    }
    assert az_parser.failures(run.echoed) == []
    assert any(line.startswith("az redis access-policy-assignment create ") for line in run.echoed)

    before = sim.count(*WRITES)
    again = run_pros("provision", "--base-name", "demo", "--cache-kind", ACR, "--usage-reader", READER)
    assert again.code == 0, again.err
    assert "2028-09-30" in again.err  # on every run
    assert sim.count(*WRITES) == before


def test_every_echoed_line_of_the_default_deployment_parses(sim, isolated, az_parser):
    plan = isolated / "plan.sh"
    dry = run_pros(
        "provision", "--base-name", "demo", "--usage-reader", READER, "--dry-run", "--emit-script", str(plan)
    )
    assert dry.code == 0, dry.err
    planned = [line for line in plan.read_text().splitlines() if line.startswith("az ")]
    run = run_pros("provision", "--base-name", "demo", "--usage-reader", READER)
    assert run.code == 0, run.err
    managed = [line for line in run.echoed if "/redisEnterprise/" in line]
    assert len(managed) == 4 and all(line.startswith("az rest --method put ") for line in managed)
    # Before the app exists, the grant's object id is asked of az (into a variable, on its own line).
    assert any("${PROS_VALUE_" in line for line in planned if "accessPolicyAssignments" in line)
    assert any(
        line.startswith("PROS_VALUE_") and "/Microsoft.Web/sites/" in line and "identity.principalId" in line
        for line in plan.read_text().splitlines()
    )
    assert az_parser.failures([*planned, *run.echoed]) == []


def test_bad_redis_settings_are_usage_errors_before_any_call(sim, isolated):
    cases = [
        (["--usage-reader", "alice@contoso.com"], "invalid --usage-reader 'alice@contoso.com'"),
        (["--redis-sku", "Standard"], "--cache-kind azure-cache-for-redis"),
        (["--redis-sku", "Balanced_B2"], "Balanced_{B0,B1,B3"),
        (["--redis-capacity", "2"], "--redis-capacity applies to Azure Cache for Redis only"),
        (["--cache-kind", "memcached"], "unknown cache kind 'memcached'"),
        (["--cache-kind", ACR, "--redis-sku", "Balanced_B0"], "unsupported Azure Cache for Redis SKU"),
        (["--cache-kind", ACR, "--redis-sku", "Premium", "--redis-capacity", "0"], "1 to 5"),
    ]
    for args, message in cases:
        run = run_pros("provision", "--base-name", "demo", *args)
        assert run.code == 2, (args, run.err)
        assert message in run.err, (args, run.err)
    assert sim.count() == 0


def test_cache_settings_from_the_config_file(sim, isolated):
    config = isolated / "pros.toml"
    config.write_text(f'cache_kind = "{ACR}"\nredis_sku = "Premium"\nusage_readers = ["{READER}"]\n')
    run = run_pros("provision", "--base-name", "demo", "--config", str(config), "--dry-run", "-o", "json")
    assert run.code == 0, run.err
    changes = run.json()["changes"]
    cache = next(c for c in changes if c["type"] == "Microsoft.Cache/redis")
    assert "--sku Premium --vm-size p1" in cache["az"][0]
    grants = [c for c in changes if c["type"] == "Microsoft.Cache/redis/accessPolicyAssignments"]
    assert len(grants) == 2 and any(f"--object-id {READER}" in c["az"][0] for c in grants)
    assert "retiring" in run.err
    wrong = isolated / "wrong.toml"
    wrong.write_text(f'usage_readers = "{READER}"\n')
    bad = run_pros("provision", "--base-name", "demo", "--config", str(wrong))
    assert bad.code == 2 and "usage_readers must be a list of strings" in bad.err
    assert json.loads(run.out)["changes"]  # (the dry run planned, and wrote nothing)
    assert sim.count(*WRITES) == 0
