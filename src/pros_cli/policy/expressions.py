"""Find the policy expressions in a policy document and make the document well-formed XML.

API Management accepts policy expressions written as they are, quotes and angle brackets included
(``value="@(context.Request.Headers.GetValueOrDefault("x", ""))"``): the "rawxml" format. Such a
document is not well-formed XML. When APIM stores a policy it escapes the expressions (``&quot;``,
``&lt;``, ``&amp;``, line breaks in attributes as ``&#xA;``; see Azure/azure-rest-api-specs issues
21835 and 25306), which is well-formed. :func:`wellformed` turns either form into well-formed XML
with the same meaning, so both parse to the same tree.

An expression is an attribute value or an element's text that starts with ``@(`` or ``@{`` and
runs to the matching bracket; the scan below understands C# string and character literals and
comments, so brackets inside them do not count.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
SECTIONS = ("inbound", "backend", "outbound", "on-error")


class PolicySyntaxError(ValueError):
    """The text is not a policy document (unbalanced expression or malformed XML)."""


@dataclass(frozen=True)
class Expression:
    kind: str  # "(" for @(...), "{" for @{...}
    code: str  # the C# inside the brackets, entities decoded
    element: str  # the policy element holding it, e.g. "set-variable"
    attribute: str | None  # the attribute, or None for the element's text
    path: str  # e.g. "inbound/choose/when[1]" (1-based position among same-named siblings)
    section: str  # inbound, backend, outbound or on-error

    @property
    def source(self) -> str:
        closing = ")" if self.kind == "(" else "}"
        return f"@{self.kind}{self.code}{closing}"


def expression_end(text: str, start: int) -> int:
    """Index just past the expression that starts at ``text[start] == '@'``."""
    opening = text[start + 1]
    closing = ")" if opening == "(" else "}"
    depth, i, n = 0, start + 1, len(text)
    while i < n:
        c = text[i]
        if c == '"' and text[i - 1] == "@":  # verbatim string: "" escapes a quote
            i += 1
            while i < n and not (text[i] == '"' and text[i + 1 : i + 2] != '"'):
                i += 2 if text[i] == '"' else 1
        elif c in "\"'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("//", i) and opening == "{":
            i = text.find("\n", i)
            if i < 0:
                break
        elif text.startswith("/*", i):
            i = text.find("*/", i)
            if i < 0:
                break
            i += 1
        elif c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PolicySyntaxError(f"policy expression starting at offset {start} is not closed")


def wellformed(text: str) -> str:
    """The policy as well-formed XML: expressions written raw are escaped, escaped ones kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("@", i)
        if j < 0 or j + 1 >= n:
            out.append(text[i:])
            break
        if text[j + 1] not in "({" or not _starts_value(text, j):
            out.append(text[i : j + 1])
            i = j + 1
            continue
        end = expression_end(text, j)
        in_attribute = text[j - 1] in "\"'"
        out.append(text[i:j])
        out.append(_escape(text[j:end], in_attribute))
        i = end
    return "".join(out)


def parse(text: str) -> ET.Element:
    """The policy's element tree (comments dropped), from either the raw or the escaped form."""
    try:
        root = ET.fromstring(text)  # already well-formed: APIM's stored (escaped) form
    except ET.ParseError:
        try:
            root = ET.fromstring(wellformed(text))
        except ET.ParseError as exc:
            raise PolicySyntaxError(f"not a well-formed policy document: {exc}") from None
    for element in root.iter():
        for value in (*element.attrib.values(), element.text or ""):
            as_expression(value)  # raises when an expression is not closed
    return root


def find_expressions(text: str) -> list[Expression]:
    """Every policy expression in document order, with where it sits."""
    found: list[Expression] = []

    def visit(element: ET.Element, path: str, section: str) -> None:
        for name, value in element.attrib.items():
            expression = as_expression(value)
            if expression:
                found.append(Expression(expression[0], expression[1], element.tag, name, path, section))
        expression = as_expression(element.text or "")
        if expression:
            found.append(Expression(expression[0], expression[1], element.tag, None, path, section))
        counts: dict[str, int] = {}
        for child in element:
            counts[child.tag] = counts.get(child.tag, 0) + 1
            child_section = child.tag if element.tag == "policies" else section
            visit(child, f"{path}/{child.tag}[{counts[child.tag]}]" if path else child.tag, child_section)

    visit(parse(text), "", "")
    return found


def as_expression(value: str) -> tuple[str, str] | None:
    stripped = value.strip()
    if len(stripped) < 3 or stripped[0] != "@" or stripped[1] not in "({":
        return None
    if expression_end(stripped, 0) != len(stripped):
        raise PolicySyntaxError(f"text after a policy expression: {stripped[:60]!r}")
    return stripped[1], stripped[2:-1]


def _starts_value(text: str, at: int) -> bool:
    """Whether ``text[at]`` begins an attribute value or an element's text."""
    before = text[:at]
    if before.endswith(('="', "='")):
        return True
    stripped = before.rstrip()
    return stripped.endswith(">") and not stripped.endswith("-->")


def _escape(expression: str, in_attribute: bool) -> str:
    parts: list[str] = []
    for index, c in enumerate(expression):
        if c == "&":
            parts.append("&" if _ENTITY.match(expression, index) else "&amp;")
        elif c == "<":
            parts.append("&lt;")
        elif c == ">":
            parts.append("&gt;")
        elif in_attribute and c == '"':
            parts.append("&quot;")
        elif in_attribute and c == "'":
            parts.append("&apos;")
        elif in_attribute and c == "\n":
            parts.append("&#10;")
        elif in_attribute and c == "\r":
            parts.append("")
        elif in_attribute and c == "\t":
            parts.append("&#9;")
        else:
            parts.append(c)
    return "".join(parts)
