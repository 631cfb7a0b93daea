"""Simulator responses take the shapes of Azure's own REST examples."""

from __future__ import annotations

from pros_cli.azure.clients import raw_json
from tests.conftest import SUB, make_spec
from tests.simulator.shapes import assert_shape


def test_resource_group_shapes(engine):
    rc = engine.clients.resource
    created = rc.resource_groups.create_or_update(
        "rg-demo", {"location": "eastus", "tags": {"a": "b"}}, cls=raw_json
    )
    assert_shape(
        created,
        "Microsoft.Resources/2025-04-01/CreateResourceGroup.json",
        "201",
        allow_extra=("type", "tags"),
        must_have=("id", "name", "location", "properties.provisioningState"),
    )
    got = rc.resource_groups.get("rg-demo", cls=raw_json)
    assert_shape(
        got,
        "Microsoft.Resources/2025-04-01/ResourceGroups_Get.json",
        allow_extra=("tags",),
        must_have=("id", "name", "type", "location"),
    )
    assert got["id"] == f"/subscriptions/{SUB}/resourceGroups/rg-demo"


def test_storage_account_shapes(engine):
    from pros_cli.resources.graph import build_resources

    engine.converge(build_resources(make_spec(regions=["eastus"])))
    name = make_spec().names.storage_account("eastus")
    sc = engine.clients.storage
    got = sc.storage_accounts.get_properties("rg-demo", name, cls=raw_json)
    assert_shape(
        got,
        "Microsoft.Storage/2026-09-01/StorageAccountGetProperties.json",
        allow_extra=(
            "tags",
            "properties.allowBlobPublicAccess",
            "properties.minimumTlsVersion",
            "properties.keyCreationTime",
            "sku.tier",
        ),
        must_have=(
            "id",
            "name",
            "type",
            "kind",
            "location",
            "sku.name",
            "properties.provisioningState",
            "properties.primaryEndpoints.blob",
        ),
    )
    keys = sc.storage_accounts.list_keys("rg-demo", name, cls=raw_json)
    assert_shape(keys, "Microsoft.Storage/2025-08-01/StorageAccountListKeys.json")
