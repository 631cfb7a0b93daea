"""Which Azure OpenAI operations the function proxies, and what each is called in a usage event.

Paths are relative to ``/openai/`` (the function's route is ``openai/{*path}`` with an empty route
prefix, so the function's URL space mirrors the Azure OpenAI account's and API Management can send
the same path to either backend pool):

- the deployments surface, ``deployments/{deployment}/chat/completions|completions|embeddings``
  with ``?api-version=``;
- the Responses API, ``responses?api-version=`` (model in the body);
- the v1 surface, ``v1/chat/completions|completions|embeddings|responses`` (model in the body).

Anything else is refused (404): the function only serves calls it can count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Azure OpenAI deployment names: letters, digits, '-', '_' and '.', at most 64 characters.
_DEPLOYMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_KINDS = {
    "chat/completions": "chat",
    "completions": "completions",
    "embeddings": "embeddings",
    "responses": "responses",
}
_DEPLOYMENTS = re.compile(rf"^deployments/({_DEPLOYMENT})/(chat/completions|completions|embeddings)$")
_V1 = re.compile(r"^v1/(chat/completions|completions|embeddings|responses)$")

# Operations whose streams carry a usage chunk only when asked (stream_options.include_usage).
# The Responses API always reports usage in its final event.
USAGE_ON_REQUEST = ("chat", "completions")


@dataclass(frozen=True)
class Route:
    kind: str  # chat | completions | embeddings | responses
    operation: str  # the event's default operation name
    deployment: str | None  # from the path; None when the body's model names it


def resolve(path: str) -> Route | None:
    path = path.strip("/")
    if m := _DEPLOYMENTS.match(path):
        suffix = m.group(2)
        return Route(_KINDS[suffix], suffix.replace("/", "-"), m.group(1))
    if m := _V1.match(path):
        suffix = m.group(1)
        return Route(_KINDS[suffix], "v1-" + suffix.replace("/", "-"), None)
    if path == "responses":
        return Route("responses", "responses", None)
    return None
