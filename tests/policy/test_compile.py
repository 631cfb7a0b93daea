"""Every policy expression compiles with a real C# compiler against APIM's documented context API."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pros_cli.policy import PolicyOptions, render_api_policy
from pros_cli.policy.expressions import find_expressions
from tests.policy import csharp_harness
from tests.policy.conftest import ALL_OPTIONS, option_id


def compile_only(policy_text: str, workdir: Path) -> csharp_harness.Generated:
    generated = csharp_harness.generate(csharp_harness.substitute_named_values(policy_text))
    csharp_harness.compile_expressions(generated.source, workdir, with_runner=False)
    return generated


@pytest.mark.parametrize("options", ALL_OPTIONS, ids=option_id)
def test_every_expression_compiles(options: PolicyOptions, tmp_path: Path) -> None:
    text = render_api_policy(options)
    generated = compile_only(text, tmp_path)
    # One method per expression: nothing skipped.
    assert len(generated.locations) == len(find_expressions(text))
    assert generated.source.count("(IProxyRequestContext context)") == len(generated.locations)


def test_a_typo_fails_the_build_and_names_the_expression(tmp_path: Path) -> None:
    text = render_api_policy().replace("context.Request.Url.Query", "context.Request.Url.Queries", 1)
    with pytest.raises(csharp_harness.CompileError) as failed:
        compile_only(text, tmp_path)
    assert "Queries" in str(failed.value)
    assert "inbound[1]/set-variable[1]/@value" in str(failed.value)


def test_a_wrong_type_fails_the_build(tmp_path: Path) -> None:
    # A condition must be a bool; a string is not.
    text = render_api_policy().replace(
        '<when condition="@(context.Variables.GetValueOrDefault<string>("pros-caller-problem", "") != "")">',
        '<when condition="@(context.Variables.GetValueOrDefault<string>("pros-caller-problem", ""))">',
        1,
    )
    assert text != render_api_policy()
    with pytest.raises(csharp_harness.CompileError) as failed:
        compile_only(text, tmp_path)
    assert "CS0029" in str(failed.value)  # cannot implicitly convert type string to bool


def test_an_undocumented_member_fails_the_build(tmp_path: Path) -> None:
    # The stub has only what Microsoft's reference documents (no Variables.Get, for instance).
    text = render_api_policy().replace(
        'context.Variables.GetValueOrDefault<string>("pros-caller-problem", "")',
        'context.Variables.Get("pros-caller-problem")',
        1,
    )
    with pytest.raises(csharp_harness.CompileError):
        compile_only(text, tmp_path)


def test_named_values_are_substituted_before_compiling() -> None:
    text = csharp_harness.substitute_named_values(render_api_policy())
    assert "{{" not in text
    assert '"eastus"' in text
    with pytest.raises(AssertionError):
        csharp_harness.substitute_named_values("<policies>{{pros-unknown}}</policies>")


def test_a_missing_compiler_fails_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception) as failed:
        csharp_harness.mcs()
    assert "apt-get install -y mono-mcs" in str(failed.value)


# The .NET types APIM allows in policy expressions (the policy-expressions reference, ".NET Framework
# types allowed in policy expressions"), by short name, plus the context API's own types. APIM
# refuses a policy that uses any other type when it is saved; the compiler alone cannot tell.
ALLOWED_TYPES = set(
    """
    Formatting JsonConvert Extensions JArray JConstructor JContainer JObject JProperty JRaw JToken
    JTokenType JValue Array BitConverter Boolean Byte Char Dictionary HashSet ICollection IDictionary
    IEnumerable IEnumerator IList IReadOnlyCollection IReadOnlyDictionary ISet KeyValuePair List Queue
    Stack Convert DateTime DateTimeKind DateTimeOffset Decimal Double Exception Guid Int16 Int32 Int64
    StringReader StringWriter Enumerable Math MidpointRounding IPAddress WebUtility Nullable Random
    SByte Single String StringComparer StringComparison StringSplitOptions Encoding Capture
    CaptureCollection Group GroupCollection Match Regex RegexOptions StringBuilder TimeSpan TimeZone
    TimeZoneInfo Tuple UInt16 UInt32 UInt64 Uri UriPartial XAttribute XCData XComment XContainer
    XDeclaration XDocument XDocumentType XElement XName XNamespace XNode XObject XText XmlNodeType
    IResponse IRequest IUrl IMessageBody BasicAuthCredentials Jwt
    """.split()  # noqa: SIM905 (the reference's table, kept readable)
)


def type_names(code: str) -> set[str]:
    """Capitalised names that start a member chain or name a type (not members after a dot)."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)  # string literals
    code = re.sub(r"'(?:[^'\\]|\\.)'", "''", code)
    code = re.sub(r"//[^\n]*|/\*.*?\*/", " ", code, flags=re.S)  # comments
    return set(re.findall(r"(?<![\w.])([A-Z]\w*)", code))


def test_expressions_use_only_the_types_apim_allows() -> None:
    text = render_api_policy(PolicyOptions(20000, 5_000_000, True, True))
    used = set()
    for expression in find_expressions(text):
        used |= type_names(expression.code)
    assert used - ALLOWED_TYPES == set()
    assert {"JObject", "Uri", "DateTime", "Math"} <= used  # the scan sees the types in use
    assert type_names('var c = CultureInfo.InvariantCulture; var s = "Text";') == {"CultureInfo"}
