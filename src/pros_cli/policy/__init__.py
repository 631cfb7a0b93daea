"""The OpenAI API's gateway policy and API definition, shipped in ``templates/``.

What other slices use:

- the ids the policy and the APIM resources share (API, pools, backends, product);
- :data:`OPENAPI_SPEC` / :data:`SPEC_VERSION`: the API definition imported at path ``openai``;
- :class:`PolicyOptions` and :func:`render_api_policy`: the API-level policy, one text for every
  gateway (per-gateway values come from the named values in :data:`NAMED_VALUES`);
- :func:`policy_diff` / :func:`policies_equal`: compare a live policy with the rendered one,
  ignoring what API Management changes when it stores a policy;
- :func:`write_rendered`: ``pros policies render --out DIR``.

docs/policy.md explains the policy step by step. Only the standard library is imported here, so
``pros --help`` stays light.
"""

from __future__ import annotations

from pros_cli.policy.compare import canonical_policy, policies_equal, policy_diff
from pros_cli.policy.ids import (
    API_ID,
    API_PATH,
    FUNCTIONS_POOL_ID,
    OPENAI_POOL_ID,
    PRODUCT_ID,
    SUBSCRIPTION_KEY_HEADER,
    SUBSCRIPTION_KEY_QUERY,
    function_backend_id,
    openai_backend_id,
)
from pros_cli.policy.named_values import (
    EVENTGRID_ENDPOINT,
    GEOGRAPHY,
    NAMED_VALUES,
    NO_GEOGRAPHY,
    REGION,
    NamedValueDef,
    named_value_values,
)
from pros_cli.policy.render import (
    OPENAPI_SPEC,
    POLICY_FORMAT,
    POLICY_TEMPLATE,
    SPEC_VERSION,
    TEMPLATES_DIR,
    PolicyOptions,
    render_api_policy,
    write_rendered,
)

__all__ = [
    "API_ID",
    "API_PATH",
    "EVENTGRID_ENDPOINT",
    "FUNCTIONS_POOL_ID",
    "GEOGRAPHY",
    "NAMED_VALUES",
    "NO_GEOGRAPHY",
    "OPENAI_POOL_ID",
    "OPENAPI_SPEC",
    "POLICY_FORMAT",
    "POLICY_TEMPLATE",
    "PRODUCT_ID",
    "REGION",
    "SPEC_VERSION",
    "SUBSCRIPTION_KEY_HEADER",
    "SUBSCRIPTION_KEY_QUERY",
    "TEMPLATES_DIR",
    "NamedValueDef",
    "PolicyOptions",
    "canonical_policy",
    "function_backend_id",
    "named_value_values",
    "openai_backend_id",
    "policies_equal",
    "policy_diff",
    "render_api_policy",
    "write_rendered",
]
