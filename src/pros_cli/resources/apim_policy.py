"""The API-level policy of the OpenAI API on one gateway (``apis/{api}/policies/policy``).

The text is rendered once from ``templates/`` and is the same for every gateway: what differs
per gateway comes from named values. It is written as ``rawxml`` (kept as written) and read back
as ``rawxml``; the two are compared after the policy module's normalisation, which ignores what
API Management changes when it stores a policy (line endings, indentation, attribute quoting).
A policy write is not a long-running operation (ApiManagementCreateApiPolicy.json: 201/200).

There is no az command for policies: the echo is ``az rest --method put`` with the whole body
inline as ``--body '<json>'``, so the line (and ``--emit-script``) replays without any other file.
"""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none, is_not_found
from pros_cli.echo import AzCommand, az_rest
from pros_cli.resources.apim_child import ApimChild, call
from pros_cli.resources.base import FieldDiff, get_path
from pros_cli.spec import Spec

POLICY_TYPE = "Microsoft.ApiManagement/service/apis/policies"
POLICY_ID = "policy"  # the only policy id an API has
POLICY_FORMAT = "rawxml"


class ApiPolicy(ApimChild):
    """``service/apis/{api}/policies/policy`` with ``xml`` as its text."""

    arm_type = POLICY_TYPE
    collection = "apis"
    label = "API Management API policy"
    typical_seconds = 3.0
    created_by = "pros policies"

    def __init__(self, spec: Spec, *, api: str, xml: str, **kwargs: Any):
        kwargs.setdefault("name", POLICY_ID)
        super().__init__(spec, **kwargs)
        self.api = api
        self.xml = xml

    def arm_id(self) -> str:
        return f"{super().arm_id().rsplit('/', 1)[0]}/{self.api}/policies/{self.name}"

    def describe(self) -> str:
        return f"policy of API {self.api} on {self.service} ({self.region})"

    def desired(self) -> dict[str, Any]:
        return {"properties": {"format": POLICY_FORMAT, "value": self.xml}}

    @staticmethod
    def live_text(current: dict[str, Any] | None) -> str | None:
        value = get_path(current, "properties.value")
        return None if value is None else str(value)

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        from pros_cli.policy import policies_equal

        live = self.live_text(current) or ""
        if policies_equal(live, self.xml):
            return []
        return [
            FieldDiff(
                "properties.value", "(the live policy)", "(the rendered policy: see pros policies --dry-run)"
            )
        ]

    def unified_diff(self, current: dict[str, Any] | None) -> str:
        """The live policy against the rendered one, normalised (empty when they are the same)."""
        import difflib

        from pros_cli.policy import canonical_policy, policy_diff

        live = self.live_text(current)
        labels = {"live_label": f"{self.service}: live", "desired_label": f"{self.service}: rendered"}
        if live is None:  # no policy yet: every line is new
            lines = canonical_policy(self.xml).splitlines(keepends=True)
            return "".join(
                difflib.unified_diff(
                    [], lines, fromfile=f"{self.service}: (no policy)", tofile=labels["desired_label"]
                )
            )
        return policy_diff(live, self.xml, **labels)

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(
            self.client(clients).api_policy.get, *self.where(), self.api, self.name, format=POLICY_FORMAT
        )

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return call(
            f"writing the {self.describe()}",
            self.client(clients).api_policy.create_or_update,
            *self.where(),
            self.api,
            self.name,
            self.desired(),
            cls=raw_json,
        )

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).api_policy.delete(*self.where(), self.api, self.name, if_match="*")
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        import hashlib

        text = self.live_text(current) or ""
        return {
            "format": POLICY_FORMAT,
            "rendered_sha256": hashlib.sha256(self.xml.encode()).hexdigest(),
            "length": len(text),
        }

    # ---- az ---------------------------------------------------------------------------------
    def az_create(self) -> list[AzCommand]:
        return [az_rest("PUT", self.arm_id(), self.api_version, self.desired())]

    def az_delete(self) -> list[AzCommand]:
        cmd = az_rest("DELETE", self.arm_id(), self.api_version)
        return [AzCommand((*cmd.args, "--headers", "If-Match=*"))]
