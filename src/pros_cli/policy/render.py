"""Render the API-level policy from ``templates/``: choose the optional parts, substitute nothing else.

The template is static XML with a few marker comments (``<!-- pros:NAME -->``, each alone on its
line). Rendering replaces each marker with a fragment from ``templates/fragments/`` or removes it,
according to :class:`PolicyOptions`. The only values written into the text are the token limits,
which are the same on every gateway; per-gateway values stay ``{{named-value}}`` references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from pros_cli.errors import ProsError, UsageError

SPEC_VERSION = "2024-10-21"  # Azure OpenAI's latest GA data-plane inference api-version
# Where the shipped templates live: <repo>/templates, beside src/.
# templates/ at the root of the checkout, shipped as pros_cli/shipped/templates (a link in the
# checkout, a copy in the wheel: pyproject.toml's package-data).
TEMPLATES_DIR = Path(__file__).parents[1] / "shipped" / "templates"
POLICY_TEMPLATE = TEMPLATES_DIR / "openai-api-policy.xml"
OPENAPI_SPEC = TEMPLATES_DIR / "openai-inference.openapi.json"
FRAGMENTS_DIR = TEMPLATES_DIR / "fragments"
# The policy is written with unescaped policy expressions, as Microsoft's policy reference shows them:
# send it with format "rawxml" (PolicyContract(value=..., format="rawxml")).
POLICY_FORMAT = "rawxml"
RENDERED_POLICY_NAME = "openai-api-policy.xml"
RENDERED_SPEC_NAME = "openai-inference.openapi.json"

_MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- pros:(?P<name>[a-z0-9-]+) -->[ \t]*\r?\n", re.MULTILINE)
_MARKERS = ("require-billing-code", "token-limit", "route", "functions-branch")
_MAX_TOKENS = 10_000_000_000  # far above any real limit: a typo guard, not a policy


@dataclass(frozen=True)
class PolicyOptions:
    """What an operator may choose about the policy; the same choice applies to every gateway."""

    tokens_per_minute: int | None = None
    monthly_token_quota: int | None = None
    require_billing_code: bool = False
    streaming_function: bool = True

    def __post_init__(self) -> None:
        for name in ("tokens_per_minute", "monthly_token_quota"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise UsageError(
                    f"{name.replace('_', '-')} must be a positive whole number of tokens, not {value!r}",
                    hint="leave it unset for no limit",
                )
            if value > _MAX_TOKENS:
                raise UsageError(f"{name.replace('_', '-')} {value} is larger than any model's capacity")
        for name in ("require_billing_code", "streaming_function"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(
                    f"{name.replace('_', '-')} must be true or false, not {getattr(self, name)!r}"
                )

    @property
    def token_limited(self) -> bool:
        return self.tokens_per_minute is not None or self.monthly_token_quota is not None


def render_api_policy(options: PolicyOptions | None = None) -> str:
    """The OpenAI API's policy XML for these options (the same text for every gateway)."""
    options = options or PolicyOptions()
    text = _read(POLICY_TEMPLATE)
    chosen = {
        "require-billing-code": _fragment("require-billing-code") if options.require_billing_code else None,
        "token-limit": _token_limit(options) if options.token_limited else None,
        "route": _fragment("route-functions" if options.streaming_function else "route-openai"),
        "functions-branch": _fragment("functions-branch") if options.streaming_function else None,
    }
    seen: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in chosen:
            raise ProsError(f"{POLICY_TEMPLATE}: unknown marker pros:{name}")
        seen.append(name)
        fragment = chosen[name]
        if fragment is None:
            return ""
        indent = match.group("indent")
        return "".join(f"{indent}{line}\n" if line.strip() else "\n" for line in fragment.splitlines())

    rendered = _MARKER.sub(replace, text)
    if sorted(seen) != sorted(_MARKERS):
        raise ProsError(f"{POLICY_TEMPLATE}: expected each marker of {_MARKERS} once, found {seen}")
    if "<!-- pros:" in rendered or "${" in rendered:
        raise ProsError(f"{POLICY_TEMPLATE}: a template marker was left in the rendered policy")
    return rendered


def write_rendered(
    out_dir: Path, options: PolicyOptions | None = None, spec_file: Path | None = None
) -> list[Path]:
    """``pros policies render --out DIR``: write the rendered policy and the API definition."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} exists and is not a directory")
    policy = render_api_policy(options)
    spec = _read(spec_file or OPENAPI_SPEC)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((RENDERED_POLICY_NAME, policy), (RENDERED_SPEC_NAME, spec)):
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _token_limit(options: PolicyOptions) -> str:
    limits = []
    if options.tokens_per_minute is not None:
        limits.append(f'tokens-per-minute="{options.tokens_per_minute}"')
    if options.monthly_token_quota is not None:
        limits.append(f'token-quota="{options.monthly_token_quota}" token-quota-period="Monthly"')
    return Template(_fragment("token-limit")).substitute(limits=" ".join(limits))


def _fragment(name: str) -> str:
    return _read(FRAGMENTS_DIR / f"{name}.xml")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProsError(
            f"cannot read {path}: the policy templates ship with pros (templates/ of its source, installed "
            "as pros_cli/shipped/templates) and this installation lacks them",
            hint="reinstall pros (pip install pros-cli, or pip install . from a checkout)",
        ) from None
