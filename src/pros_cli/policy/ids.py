"""Identifiers shared by the policy text and the APIM resources that ``pros backends`` creates.

The policy names the pools by these ids (``set-backend-service backend-id=...``), so the backends
must be created under exactly these names.
"""

from __future__ import annotations

API_ID = "openai"
API_PATH = "openai"  # the gateway serves https://<gateway>/openai/..., like an Azure OpenAI account
OPENAI_POOL_ID = "openai-pool"
FUNCTIONS_POOL_ID = "functions-pool"
PRODUCT_ID = "pros-openai"
# Existing Azure OpenAI clients send their key in the `api-key` header; the gateway takes its
# subscription key there (API `subscriptionKeyParameterNames.header`), so clients work unchanged.
# The query name stays APIM's default. The policy removes both before forwarding.
SUBSCRIPTION_KEY_HEADER = "api-key"
SUBSCRIPTION_KEY_QUERY = "subscription-key"


def openai_backend_id(region: str) -> str:
    """The backend of one region's Azure OpenAI account, e.g. ``openai-eastus``."""
    return f"openai-{_region(region)}"


def function_backend_id(region: str) -> str:
    """The backend of one region's streaming function app, e.g. ``func-eastus``."""
    return f"func-{_region(region)}"


def _region(region: str) -> str:
    if not region or not region.isalnum() or region.lower() != region:
        raise ValueError(f"not an Azure region name: {region!r} (expected lower-case letters and digits)")
    return region
