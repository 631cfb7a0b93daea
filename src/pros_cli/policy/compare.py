"""Compare a live policy with the rendered one, ignoring what API Management does when it stores it.

APIM keeps a policy's meaning but not its bytes: it returns line breaks as CRLF, re-indents with
tabs, escapes policy expressions (``&quot;``, ``&lt;``, ``&#xA;`` in attributes) when asked for the
``xml`` format, and may quote attributes differently (Azure/azure-rest-api-specs issues 21835 and
25306 show a stored policy next to the one that was sent). Both sides are therefore reduced to one
canonical text before comparing: parsed (either form), comments dropped, attributes sorted, values
stripped line by line. Equality additionally treats every run of whitespace inside an attribute
value as one space, since a parser folds line breaks in attributes that were not escaped.
"""

from __future__ import annotations

import difflib
import re
import xml.etree.ElementTree as ET

from pros_cli.policy.expressions import parse

_INDENT = "    "
_SPACE = re.compile(r"\s+")


def canonical_policy(text: str) -> str:
    """A canonical rendering of a policy document for display and diffs."""
    return "\n".join(_lines(parse(text), 0, fold=False)) + "\n"


def policies_equal(a: str, b: str) -> bool:
    """Whether two policy documents mean the same to API Management."""
    return _key(a) == _key(b)


def policy_diff(live: str, desired: str, *, live_label: str = "live", desired_label: str = "rendered") -> str:
    """A unified diff from the live policy to the desired one; empty when they are the same."""
    if policies_equal(live, desired):
        return ""
    return "".join(
        difflib.unified_diff(
            canonical_policy(live).splitlines(keepends=True),
            canonical_policy(desired).splitlines(keepends=True),
            fromfile=live_label,
            tofile=desired_label,
        )
    )


def _key(text: str) -> str:
    return "\n".join(_lines(parse(text), 0, fold=True))


def _lines(element: ET.Element, depth: int, *, fold: bool) -> list[str]:
    pad = _INDENT * depth
    attributes = "".join(
        f' {name}="{_attribute(value, fold)}"' for name, value in sorted(element.attrib.items())
    )
    text = _text(element.text)
    children = list(element)
    if not children and not text:
        return [f"{pad}<{element.tag}{attributes} />"]
    lines = [f"{pad}<{element.tag}{attributes}>"]
    if text:
        lines.extend(f"{pad}{_INDENT}{line}" for line in text.split("\n"))
    for child in children:
        lines.extend(_lines(child, depth + 1, fold=fold))
        tail = _text(child.tail)
        if tail:
            lines.extend(f"{pad}{_INDENT}{line}" for line in tail.split("\n"))
    lines.append(f"{pad}</{element.tag}>")
    return lines


def _attribute(value: str, fold: bool) -> str:
    if fold:
        value = _SPACE.sub(" ", value).strip()
    else:
        value = " ".join(line.strip() for line in value.splitlines() if line.strip())
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _text(value: str | None) -> str:
    if not value:
        return ""
    lines = [line.strip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)
