"""The optional deployment config file (TOML): any deployment setting, by its setting name.

```toml
regions = ["eastus", "westus"]
shared_region = "eastus"
apim_sku = "Developer"
publisher_email = "platform@contoso.com"

[[models]]
name = "chat"            # deployment name (default: the model name)
model = "gpt-5.2"
version = "2025-12-11"   # optional: without it, the newest GA version every region offers
sku = "GlobalStandard"
capacity = 50
```

The keys are the names in :mod:`pros_cli.settings` (``pros settings`` lists them). The file sits
between the environment and the recorded settings in the resolution order. Unknown keys and wrong
types are errors that name the file and the key, so a typo never silently falls back.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pros_cli.errors import UsageError
from pros_cli.settings import BY_NAME, coerce
from pros_cli.spec import ModelDeployment

MODEL_KEYS = {"name": str, "model": str, "version": str, "sku": str, "capacity": int}
_TYPES = {"str": "a string", "int": "a whole number", "bool": "true or false", "strs": "a list of strings"}


def load_config(path: Path) -> dict[str, Any]:
    """Read a config file into setting values (already of each setting's type)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist", hint="check the --config path") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{path}: {key}"
        definition = BY_NAME.get(key)
        if definition is None:
            known = ", ".join(sorted(BY_NAME))
            raise UsageError(f"{where}: unknown setting", hint=f"known settings: {known}")
        if definition.kind == "models":
            tables = _list_of_tables(where, value)
            out[key] = tuple(_model(path, i, item) for i, item in enumerate(tables))
            continue
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[definition.kind]
        if not ok:
            raise UsageError(f"{where} must be {_TYPES[definition.kind]}, not {type(value).__name__}")
        out[key] = coerce(definition, value, where=where)
    return out


def _list_of_tables(where: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UsageError(f"{where} must be an array of tables ([[models]])")
    return value


def _model(path: Path, index: int, item: dict[str, Any]) -> ModelDeployment:
    where = f"{path}: models[{index}]"
    for key, value in item.items():
        if key not in MODEL_KEYS:
            raise UsageError(f"{where}.{key}: unknown setting", hint=f"known: {', '.join(MODEL_KEYS)}")
        if not isinstance(value, MODEL_KEYS[key]) or isinstance(value, bool):
            raise UsageError(f"{where}.{key} must be a {MODEL_KEYS[key].__name__}")
    if "model" not in item:
        raise UsageError(f"{where} needs 'model'")
    return ModelDeployment(
        name=item.get("name") or item["model"],
        model=item["model"],
        version=item.get("version", ""),  # empty: resolved from the model catalog
        sku=item.get("sku", "GlobalStandard"),
        capacity=item.get("capacity", 30),
    )
