"""Comparing a live policy with the rendered one: what APIM changes when it stores a policy is not a
difference; a hand edit is."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from pros_cli.policy import PolicyOptions, canonical_policy, policies_equal, policy_diff, render_api_policy
from pros_cli.policy.expressions import PolicySyntaxError, find_expressions, parse, wellformed


def as_apim_stores_it(text: str) -> str:
    """The policy the way APIM hands it back in the ``xml`` format: expressions escaped (``&quot;``,
    ``&lt;``, line breaks in attributes as character references), comments kept, tabs for
    indentation, CRLF line ends (Azure/azure-rest-api-specs issues 21835 and 25306)."""
    escaped = ET.tostring(parse(text), encoding="unicode")  # attribute quotes and newlines escaped
    lines = []
    for line in escaped.split("\n"):
        stripped = line.lstrip(" ")
        lines.append("\t" * ((len(line) - len(stripped)) // 4) + stripped)
    return "\r\n".join(lines)


def test_the_stored_form_equals_the_rendered_policy() -> None:
    rendered = render_api_policy(PolicyOptions(20000, 5_000_000, True, True))
    stored = as_apim_stores_it(rendered)
    assert stored != rendered
    assert "&quot;" in stored and "&lt;" in stored and "\r\n\t" in stored
    assert policies_equal(stored, rendered)
    assert policy_diff(stored, rendered) == ""
    assert canonical_policy(stored) == canonical_policy(rendered)


def test_quoting_self_closing_tags_comments_and_attribute_order_do_not_matter() -> None:
    a = '<policies><inbound><base /><set-header name="x" exists-action="delete" /></inbound></policies>'
    b = (
        "<policies>\n  <!-- a comment -->\n  <inbound>\n    <base></base>\n"
        "    <set-header exists-action='delete' name='x'></set-header>\n  </inbound>\n</policies>"
    )
    assert policies_equal(a, b)


def test_a_hand_edit_shows_in_the_diff() -> None:
    rendered = render_api_policy()
    edited = (
        as_apim_stores_it(rendered)
        .replace('count="10"', 'count="2"')
        .replace("https://eventgrid.azure.net", "https://example.invalid")
    )
    assert not policies_equal(edited, rendered)
    diff = policy_diff(edited, rendered, live_label="gw-eastus: live", desired_label="gw-eastus: rendered")
    assert diff.startswith("--- gw-eastus: live\n+++ gw-eastus: rendered\n")
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any('count="2"' in line for line in removed) and any('count="10"' in line for line in added)
    assert any("example.invalid" in line for line in removed)
    assert len(removed) == 2 and len(added) == 2  # nothing else differs


def test_a_changed_expression_is_a_difference() -> None:
    rendered = render_api_policy()
    edited = rendered.replace("status == 429 || status == 503", "status == 429", 1)
    assert edited != rendered
    assert not policies_equal(edited, rendered)
    assert "status == 503" in policy_diff(edited, rendered)


def test_whitespace_inside_an_expression_block_is_not_a_difference() -> None:
    rendered = render_api_policy()
    reflowed = re.sub(r"\n {12}", "\n  ", rendered)
    assert reflowed != rendered
    assert policies_equal(reflowed, rendered)


def test_raw_expressions_are_escaped_for_xml() -> None:
    raw = '<policies><inbound><set-variable name="a" value="@(x < 1 && y == "q)")" /></inbound></policies>'
    root = ET.fromstring(wellformed(raw))
    assert root.find("inbound/set-variable").attrib["value"] == '@(x < 1 && y == "q)")'
    (expression,) = find_expressions(raw)
    assert expression.code == 'x < 1 && y == "q)"'
    assert (expression.element, expression.attribute, expression.section) == (
        "set-variable",
        "value",
        "inbound",
    )


def test_braces_and_quotes_inside_csharp_literals_do_not_end_a_block() -> None:
    block = "@{ var s = \"}\"; var c = '}'; /* } */ return s; }"
    raw = f"<policies><inbound><set-body>{block}</set-body></inbound></policies>"
    (expression,) = find_expressions(raw)
    assert expression.code.strip().endswith("return s;")


@pytest.mark.parametrize(
    "text",
    ["<policies><inbound>", '<policies><inbound><set-variable name="a" value="@(x" /></inbound></policies>'],
)
def test_malformed_policies_are_reported(text: str) -> None:
    with pytest.raises(PolicySyntaxError):
        policies_equal(text, render_api_policy())
