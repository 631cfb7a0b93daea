"""The optional deployment config file (TOML): the same settings as the provision options.

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

Command-line options win over the file; the file wins over the defaults. Unknown keys and wrong
types are errors that name the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pros_cli.errors import UsageError
from pros_cli.spec import ModelDeployment

SCALARS: dict[str, type] = {
    "shared_region": str,
    "storage_sku": str,
    "apim_sku": str,
    "apim_capacity": int,
    "publisher_email": str,
    "publisher_name": str,
    "function_plan": str,
    "python_version": str,
    "redis_sku": str,
    "redis_capacity": int,
    "custom_domain": str,
    "certificate_secret_id": str,
}
MODEL_KEYS = {"name": str, "model": str, "version": str, "sku": str, "capacity": int}


def load_config(path: Path) -> dict[str, Any]:
    """Read a config file into build_spec() keyword arguments."""
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
        if key == "regions":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where} must be a list of region names")
            out["regions"] = value
        elif key == "models":
            tables = _list_of_tables(where, value)
            out["models"] = tuple(_model(path, i, item) for i, item in enumerate(tables))
        elif key in SCALARS:
            if not isinstance(value, SCALARS[key]) or isinstance(value, bool):
                raise UsageError(f"{where} must be a {SCALARS[key].__name__}, not {type(value).__name__}")
            out[key] = value
        else:
            known = ", ".join(sorted([*SCALARS, "regions", "models"]))
            raise UsageError(f"{where}: unknown setting", hint=f"known settings: {known}")
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
