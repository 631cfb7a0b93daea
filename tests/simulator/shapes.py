"""Hold simulator responses against Microsoft's REST examples in ../shared/arm-examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import _shared_dir


def example(relpath: str) -> dict[str, Any]:
    return json.loads((_shared_dir() / "arm-examples" / relpath).read_text())


def example_body(relpath: str, status: str = "200") -> Any:
    return example(relpath)["responses"][status].get("body")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def shape_errors(actual: Any, expected: Any, path: str = "", allow_extra: tuple[str, ...] = ()) -> list[str]:
    """Keys the simulator returns that the example does not have (or with another JSON type).

    The example is one instance with many optional properties, so the simulator may return a
    subset; what it returns must be spelled and typed as Azure spells and types it.
    """
    errors: list[str] = []
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key, value in actual.items():
            sub = f"{path}.{key}" if path else key
            if sub in allow_extra or key == "tags":  # allowed extras; tags are a free-form map
                continue
            if key not in expected:
                errors.append(f"{sub}: not in the example")
                continue
            errors.extend(shape_errors(value, expected[key], sub, allow_extra))
    elif isinstance(actual, list) and isinstance(expected, list):
        if actual and expected:
            for i, item in enumerate(actual):
                errors.extend(shape_errors(item, expected[0], f"{path}[{i}]", allow_extra))
    elif actual is not None and expected is not None and _kind(actual) != _kind(expected):
        errors.append(f"{path}: {_kind(actual)} where the example has {_kind(expected)}")
    return errors


def assert_shape(
    actual: Any,
    relpath: str,
    status: str = "200",
    allow_extra: tuple[str, ...] = (),
    must_have: tuple[str, ...] = (),
) -> None:
    expected = example_body(relpath, status)
    errors = shape_errors(actual, expected, allow_extra=allow_extra)
    for key in must_have:
        node: Any = actual
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            errors.append(f"{key}: missing")
    assert not errors, f"simulator response differs from {relpath}: " + "; ".join(errors)


def example_path(relpath: str) -> Path:
    return _shared_dir() / "arm-examples" / relpath
