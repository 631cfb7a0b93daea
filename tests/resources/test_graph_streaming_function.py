"""What the regional apps get for the streaming function (functions/openai_backend): the settings
it reads, naming the topic's real endpoint, and the right to publish to the topic."""

from __future__ import annotations

from pros_cli.azure.clients import raw_json
from pros_cli.resources.graph import build_resources
from pros_cli.resources.rbac import EVENTGRID_DATA_SENDER
from tests.conftest import make_spec


def test_regional_apps_can_run_the_streaming_function(engine, memsim):
    spec = make_spec(regions=["eastus", "westeurope"])
    report = engine.converge(build_resources(spec)).report
    assert not report.failed
    rg = spec.resource_group
    topic = engine.clients.eventgrid.topics.get(rg, spec.names.eventgrid_topic(), cls=raw_json)
    endpoint = topic["properties"]["endpoint"]
    grants = [
        r["body"]["properties"] for r in memsim.resources_of_type("Microsoft.Authorization/roleAssignments")
    ]
    senders = {
        g["principalId"]
        for g in grants
        if g["scope"] == topic["id"] and g["roleDefinitionId"].endswith(EVENTGRID_DATA_SENDER.guid)
    }
    for region in spec.regions:
        name = spec.names.function_app(region)
        settings = engine.clients.web.web_apps.list_application_settings(rg, name, cls=raw_json)["properties"]
        assert settings["PROS_REGION"] == region
        assert settings["PROS_EVENTGRID_ENDPOINT"] == endpoint
        assert settings["PYTHON_ENABLE_INIT_INDEXING"] == "1"
        assert settings["AZURE_OPENAI_ENDPOINT"].startswith("https://")
        assert "AZURE_CLIENT_ID" not in settings  # the system-assigned identity
        app = engine.clients.web.web_apps.get(rg, name, cls=raw_json)
        assert app["identity"]["principalId"] in senders
