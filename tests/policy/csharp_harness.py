"""Compile a rendered policy's expressions with a real C# compiler and run them.

Each policy expression becomes one C# method whose return type is what its place in the policy
needs (a ``condition`` returns bool, a header value string, ``set-variable`` any object), compiled
by Mono's ``mcs`` at C# 7 (the language version APIM documents for policy expressions) against
``csharp/Apim.cs``, a typed stand-in for APIM's documented context API, and the real Newtonsoft.Json.
``csharp/Runner.cs`` then walks the policy with those compiled expressions on a sample call.

Named values are substituted textually first, as APIM does before it compiles a policy.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pros_cli.policy.expressions import as_expression, parse

HERE = Path(__file__).resolve().parent / "csharp"
NAMED_VALUE_SAMPLES = {
    "pros-region": "eastus",
    "pros-eventgrid-endpoint": "https://pros-demo-usage.eastus-1.eventgrid.azure.net/api/events",
    "pros-geography": "none",  # not geographic; the geography tests compile with GEO-NA
}
USINGS = [
    "System",
    "System.Collections.Generic",
    "System.Linq",
    "System.Text",
    "System.Text.RegularExpressions",
    "System.Xml.Linq",
    "Newtonsoft.Json",
    "Newtonsoft.Json.Linq",
    "Pros.Apim",
]
# What each place in a policy needs its expression to return (APIM converts the rest).
RETURN_TYPES = {
    ("when", "condition"): "bool",
    ("retry", "condition"): "bool",
    ("retry", "count"): "int",
    ("retry", "interval"): "int",
    ("retry", "first-fast-retry"): "bool",
    ("set-status", "code"): "int",
    ("set-status", "reason"): "string",
    ("value", None): "string",
    ("set-body", None): "string",
    ("set-url", None): "string",
    ("set-method", None): "string",
    ("llm-token-limit", "counter-key"): "string",
    ("set-variable", "value"): "object",
}
INSTALL_HINT = (
    "install Mono's C# compiler and Json.NET: apt-get install -y mono-mcs libnewtonsoft-json5.0-cil"
)


def mcs() -> str:
    found = shutil.which("mcs")
    if not found:
        pytest.fail(
            f"the C# compiler mcs is missing, so policy expressions cannot be checked: {INSTALL_HINT}"
        )
    return found


def mono() -> str:
    found = shutil.which("mono")
    if not found:
        pytest.fail(f"the Mono runtime is missing: {INSTALL_HINT}")
    return found


def newtonsoft() -> Path:
    patterns = [
        "/usr/lib/cli/Newtonsoft.Json*/Newtonsoft.Json.dll",
        "/usr/lib/mono/gac/Newtonsoft.Json/*/Newtonsoft.Json.dll",
    ]
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    pytest.fail(f"Newtonsoft.Json (as APIM uses it) is missing: {INSTALL_HINT}")


def substitute_named_values(text: str, values: dict[str, str] | None = None) -> str:
    values = values or NAMED_VALUE_SAMPLES
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    left = re.findall(r"\{\{[^}]*\}\}", text)
    assert not left, f"named values without a sample value: {left}"
    return text


@dataclass
class Generated:
    plan: str  # the policy as XML, each expression replaced by #expr:N
    source: str  # the C# of every expression, one method each
    locations: list[str]  # where each expression sits, by index


def generate(policy_text: str) -> Generated:
    """Turn a policy (named values already substituted) into a plan and C# methods."""
    root = parse(policy_text)
    methods: list[str] = []
    locations: list[str] = []

    def method(kind: str, code: str, element: str, attribute: str | None, where: str) -> str:
        key = (element, attribute)
        if key not in RETURN_TYPES:
            raise AssertionError(
                f"{where}: no known return type for an expression in {key}; add it to RETURN_TYPES"
            )
        index = len(methods)
        returns = RETURN_TYPES[key]
        body = f"return ({code});" if kind == "(" else code
        # #line makes compiler errors name the expression's place in the policy.
        methods.append(
            f"        public static {returns} E{index}(IProxyRequestContext context)\n"
            f'        {{\n#line 1 "{where}"\n{body}\n#line default\n        }}\n'
        )
        locations.append(where)
        return f"#expr:{index}"

    def visit(element: ET.Element, path: str) -> None:
        for name, value in list(element.attrib.items()):
            found = as_expression(value)
            if found:
                element.attrib[name] = method(found[0], found[1], element.tag, name, f"{path}/@{name}")
        found = as_expression(element.text or "")
        if found:
            element.text = method(found[0], found[1], element.tag, None, f"{path}/text()")
        counts: dict[str, int] = {}
        for child in element:
            counts[child.tag] = counts.get(child.tag, 0) + 1
            visit(child, f"{path}/{child.tag}[{counts[child.tag]}]")

    visit(root, root.tag)
    registry = ",\n".join(f"            c => E{i}(c)" for i in range(len(methods)))
    source = (
        "".join(f"using {name};\n" for name in USINGS)
        + "\nnamespace Pros.PolicyRunner\n{\n    public static class PolicyExpressions\n    {\n"
        + "".join(methods)
        + "        public static readonly Func<IProxyRequestContext, object>[] All = "
        + "new Func<IProxyRequestContext, object>[]\n        {\n"
        + registry
        + "\n        };\n    }\n}\n"
    )
    return Generated(ET.tostring(root, encoding="unicode"), source, locations)


class CompileError(AssertionError):
    pass


@dataclass
class CompiledPolicy:
    exe: Path
    plan: Path
    generated: Generated
    workdir: Path

    def run(self, scenario: dict[str, Any]) -> dict[str, Any]:
        path = self.workdir / f"scenario-{abs(hash(json.dumps(scenario, sort_keys=True)))}.json"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        proc = subprocess.run(
            [mono(), str(self.exe), str(self.plan), str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"MONO_PATH": str(newtonsoft().parent), "PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 0, f"policy runner failed:\n{proc.stdout}\n{proc.stderr}"
        return json.loads(proc.stdout)


def compile_expressions(source: str, workdir: Path, *, with_runner: bool) -> Path:
    """Compile generated expression source (plus the stub, and the runner) into an assembly."""
    workdir.mkdir(parents=True, exist_ok=True)
    expressions = workdir / "PolicyExpressions.cs"
    expressions.write_text(source, encoding="utf-8")
    out = workdir / ("runner.exe" if with_runner else "expressions.dll")
    files = [str(HERE / "Apim.cs"), str(expressions)]
    if with_runner:
        files.append(str(HERE / "Runner.cs"))
    args = [
        mcs(),
        "-langversion:7",
        "-nologo",
        "-warnaserror+",
        "-nowarn:1591",
        f"-target:{'exe' if with_runner else 'library'}",
        f"-r:{newtonsoft()}",
        "-r:System.Xml.Linq.dll",
        "-r:System.Xml.dll",
        f"-out:{out}",
        *files,
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise CompileError(f"mcs rejected the policy expressions:\n{proc.stdout}{proc.stderr}")
    return out


def compile_policy(policy_text: str, workdir: Path, values: dict[str, str] | None = None) -> CompiledPolicy:
    """``values``: named values to use instead of (on top of) the samples."""
    generated = generate(substitute_named_values(policy_text, {**NAMED_VALUE_SAMPLES, **(values or {})}))
    exe = compile_expressions(generated.source, workdir, with_runner=True)
    plan = workdir / "plan.xml"
    plan.write_text(generated.plan, encoding="utf-8")
    shutil.copy(newtonsoft(), workdir / "Newtonsoft.Json.dll")
    return CompiledPolicy(exe, plan, generated, workdir)
