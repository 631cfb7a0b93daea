"""The end-of-provision summary: where to send traffic, and what the global name can and cannot do.

Built from the non-secret outputs recorded in the state file, with the deterministic Azure host
names as a fallback for resources still being created (--no-wait).
"""

from __future__ import annotations

from typing import Any

from pros_cli.cache_kinds import MANAGED
from pros_cli.resources import graph, redis, redis_enterprise
from pros_cli.spec import Spec

DNS_ONLY = (
    "Traffic Manager answers DNS only: it sends clients to a regional API Management gateway, which "
    "accepts only its own host name or a configured custom domain, so https://{fqdn} cannot serve API "
    "calls over HTTPS. Use the regional gateway URLs, or run provision with --custom-domain HOST "
    "--certificate-secret-id ID for one global name."
)


def build_summary(spec: Spec, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def out(key: str, name: str, fallback: Any = None) -> Any:
        return (outputs.get(key) or {}).get(name) or fallback

    fqdn = out(graph.TM_KEY, "fqdn", f"{spec.names.traffic_manager_dns()}.trafficmanager.net")
    summary: dict[str, Any] = {
        "gateways": {
            r: out(graph.apim_key(r), "gateway_url", f"https://{spec.names.apim(r)}.azure-api.net")
            for r in spec.regions
        },
        "traffic_manager_fqdn": fqdn,
        "openai_endpoints": {
            r: out(graph.openai_key(r), "endpoint", f"https://{spec.names.openai(r)}.openai.azure.com/")
            for r in spec.regions
        },
        "eventgrid_endpoint": out(graph.TOPIC_KEY, "endpoint"),
        "redis": redis_summary(spec, outputs.get(graph.REDIS_KEY) or {}),
    }
    if spec.custom_domain:
        summary["custom_domain"] = {
            "host": spec.custom_domain,
            "url": f"https://{spec.custom_domain}",
            "dns_record": {"type": "CNAME", "name": spec.custom_domain, "value": fqdn},
        }
        summary["global_name"] = (
            f"Create the DNS record {spec.custom_domain} CNAME {fqdn}; then https://{spec.custom_domain} "
            "reaches the nearest healthy gateway."
        )
    else:
        summary["custom_domain"] = None
        summary["global_name"] = DNS_ONLY.format(fqdn=fqdn)
    return summary


def redis_summary(spec: Spec, recorded: dict[str, Any]) -> dict[str, Any]:
    """Where the usage ledger lives: TLS and Microsoft Entra ID (no key), either kind of Redis."""
    if spec.cache_kind == MANAGED:
        host = redis_enterprise.host_name(spec.names.redis(), spec.shared_region)
        port, product = redis_enterprise.PORT, "Azure Managed Redis"
    else:
        host = f"{spec.names.redis()}.redis.cache.windows.net"
        port, product = redis.SSL_PORT, "Azure Cache for Redis"
    return {
        "host": recorded.get("host_name") or host,
        "port": recorded.get("port") or port,
        "cache_kind": spec.cache_kind,
        "product": product,
        "auth": "entra",
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["Gateways:"]
    lines += [f"  {region:<14} {url}" for region, url in summary["gateways"].items()]
    lines.append(f"Traffic Manager:  {summary['traffic_manager_fqdn']}")
    lines.append("OpenAI endpoints:")
    lines += [f"  {region:<14} {url}" for region, url in summary["openai_endpoints"].items()]
    if summary["eventgrid_endpoint"]:
        lines.append(f"Event Grid topic: {summary['eventgrid_endpoint']}")
    cache = summary["redis"]
    lines.append(
        f"Redis:            {cache['host']}:{cache['port']} ({cache['product']}; TLS, Microsoft Entra ID)"
    )
    if summary["custom_domain"]:
        record = summary["custom_domain"]["dns_record"]
        lines.append(f"Custom domain:    {summary['custom_domain']['url']}")
        lines.append(f"DNS record to create: {record['name']} {record['type']} {record['value']}")
    lines.append(summary["global_name"])
    return lines
