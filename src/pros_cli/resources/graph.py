"""The resource graph of one deployment: which resources, and what each depends on."""

from __future__ import annotations

from pros_cli.resources.base import Resource
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.storage import StorageAccount
from pros_cli.spec import Spec

RG_KEY = "resource-group"


def storage_key(region: str) -> str:
    return f"storage/{region}"


def build_resources(spec: Spec) -> list[Resource]:
    """Every resource of the deployment, each listed after the ones it depends on."""
    resources: list[Resource] = [
        ResourceGroup(spec, key=RG_KEY, name=spec.resource_group, region=spec.primary_region),
    ]
    for region in spec.regions:
        resources.append(
            StorageAccount(
                spec,
                key=storage_key(region),
                name=spec.names.storage_account(region),
                region=region,
                depends_on=(RG_KEY,),
                parent=RG_KEY,
            )
        )
    return resources
