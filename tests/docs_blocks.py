"""Reading the documents the tests hold to the code: fenced blocks, their markers, command lines.

``README.md``'s quickstart marks each bash block it expects a reader to type: ``<!-- readme-test -->``
(tests/test_readme.py runs it word for word) or ``<!-- readme-test: skip: REASON -->`` (it needs
something a test cannot have, such as an Azure subscription). ``commands(text, program)`` finds
every invocation of a program (``pros``, ``az``) in shell text: after a line start, a shell operator
or inside ``$(...)``, with line continuations joined, comments and here-document bodies left out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
MARKER = re.compile(r"<!--\s*readme-test(?:\s*:\s*skip\s*:\s*(?P<reason>.*?))?\s*-->\s*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>\w+)\1")
REDIRECTS = {"<", ">", ">>", ">&", "<&", "<<", "<<<", "&>", ">|"}
PREFIXES = {"exec", "time", "timeout", "then", "do", "else", "if", "while", "until", "!", "{"}


@dataclass(frozen=True)
class Block:
    """A fenced block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    body: str
    marker: str | None = None  # None: not marked; "run"; or "skip"
    reason: str = ""

    def where(self) -> str:
        return f"{self.path.name} line {self.line}"


def blocks(path: Path, *, section: str | None = None) -> list[Block]:
    """Every fenced block of ``path`` (only those under the ``## section`` heading when given), with
    the readme-test marker on the line before its fence."""
    text = path.read_text()
    start, end = 0, len(text)
    if section is not None:
        heading = re.search(rf"^## {re.escape(section)}\s*$", text, re.M)
        if heading is None:
            raise AssertionError(f"{path.name} has no '## {section}' section")
        start = heading.end()
        following = re.search(r"^## ", text[start:], re.M)
        end = start + following.start() if following else len(text)
    out = []
    for fence in FENCE.finditer(text, start, end):
        line = text.count("\n", 0, fence.start()) + 1
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARKER.search(before)
        marker = reason = None
        if mark is not None:
            reason = (mark.group("reason") or "").strip()
            marker = "skip" if mark.group("reason") is not None else "run"
        out.append(Block(path, line, fence.group("lang"), fence.group("body"), marker, reason or ""))
    return out


# ---- command lines ------------------------------------------------------------------------------
def _open_quote(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def logical_lines(script: str) -> list[str]:
    """Shell lines with backslash continuations and multi-line quoted strings joined, and
    here-document bodies dropped."""
    out: list[str] = []
    pending = ""
    lines = iter(script.splitlines())
    for raw in lines:
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        if _open_quote(line):
            pending = line + "\n"
            continue
        pending = ""
        out.append(line)
        heredoc = HEREDOC.search(line)
        if heredoc is not None:
            word = heredoc.group("word")
            for body in lines:
                if body.strip() == word:
                    break
    if pending:
        out.append(pending)
    return out


def _substitutions(line: str) -> tuple[str, list[str]]:
    """``line`` with each ``$(...)`` replaced by a placeholder word, and the inner command texts."""
    inner: list[str] = []
    result = []
    i = 0
    while i < len(line):
        if line.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(line) and depth:
                depth += {"(": 1, ")": -1}.get(line[j], 0)
                j += 1
            inner.append(line[i + 2 : j - 1])
            result.append("SUBSTITUTED")
            i = j
            continue
        result.append(line[i])
        i += 1
    return "".join(result), inner


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: fall back to words
        return text.split()


def _operator(token: str) -> bool:
    return bool(token) and set(token) <= set("|&;()<>")


def commands(script: str, program: str) -> list[list[str]]:
    """Each invocation of ``program`` in ``script``: its arguments, up to the next shell operator."""
    found: list[list[str]] = []
    pending = list(logical_lines(script))
    while pending:
        line, inner = _substitutions(pending.pop(0))
        pending[:0] = inner
        tokens = _tokens(line)
        at_start = True
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if _operator(token):
                if token in REDIRECTS:
                    i += 2  # the redirection and its target
                    continue
                at_start = True
                i += 1
                continue
            if at_start and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
                i += 1  # an environment assignment before the command
                continue
            if at_start and token in PREFIXES:
                i += 1
                if token == "timeout":  # timeout [OPTION...] DURATION COMMAND
                    while i < len(tokens) and tokens[i].startswith("-"):
                        i += 1
                    i += 1
                continue
            if at_start and token == program:
                i += 1
                args = []
                while i < len(tokens) and not _operator(tokens[i]):
                    args.append(tokens[i])
                    i += 1
                found.append(args)
            at_start = False
            i += 1
    return found


def inline_commands(text: str, program: str) -> list[list[str]]:
    """Invocations written in inline code spans of prose (`pros usage --by day`): synopsis brackets
    and alternatives (``[-l REGION ...]``, ``--dry-run|render``) are read as plain words."""
    found = []
    for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", _without_fences(text)):
        span = " ".join(span.split())
        if not re.match(rf"{re.escape(program)}\s", span):
            continue
        words = re.sub(r"[\[\]]|\.\.\.", " ", span).replace("|", " ")
        found.extend(commands(words, program))
    return found


def _without_fences(text: str) -> str:
    return FENCE.sub("", text)
