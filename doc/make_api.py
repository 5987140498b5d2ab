"""Writes doc/api.md, the public Python API, from the docstrings of `quests_lmp.__all__`.

    python doc/make_api.py          # rewrite doc/api.md
    python doc/make_api.py --check  # exit 1 if doc/api.md differs from the docstrings

tests/test_api_doc.py runs the check, so the page cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import quests_lmp

PAGE = Path(__file__).with_name("api.md")
INTRO = """# Python API

`from quests_lmp import ...`: everything on this page, and nothing else, is the public Python API.
Units: positions and cutoffs in A, descriptors and bandwidths h in 1/A, volumes in A^3/atom,
entropies in nats. Bandwidth arguments take one number or a list (one result per bandwidth, one pass).
Errors are ValueError (or its subclass ReferenceFileError) or FileNotFoundError, with a message that
names the problem and the fix.

This page is generated from the docstrings by `python doc/make_api.py`; a test fails when it differs.
"""


def render() -> str:
    """The whole page as markdown."""
    names = sorted(
        quests_lmp.__all__,
        key=lambda name: (
            not inspect.isclass(getattr(quests_lmp, name)),
            not callable(getattr(quests_lmp, name)),
            name,
        ),
    )
    constants = [name for name in names if not callable(getattr(quests_lmp, name))]
    parts = [
        INTRO,
        "## Contents\n",
        *[f"- [`{name}`](#{name.lower()})" for name in names if name not in constants],
        "- [Constants](#constants)\n",
    ]
    for name in names:
        if name not in constants:
            parts.append(_render_object(name, getattr(quests_lmp, name)))
    parts.append(_render_constants(constants))
    return "\n".join(parts).rstrip() + "\n"


def public_members(cls) -> list[tuple[str, object]]:
    """The documented members of a public class: its public methods and properties, its own first,
    then those of the quests_lmp classes it extends (Reference's queries and indexes)."""
    members = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("quests_lmp"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in members:
                continue
            if callable(member) or isinstance(member, (property, classmethod)):
                members[name] = member
    return list(members.items())


def _render_object(name: str, obj) -> str:
    lines = [f"## {name}\n", f"`{name}{_signature(obj)}`\n", _markdown(inspect.getdoc(obj) or "")]
    if inspect.isclass(obj):
        for member_name, member in public_members(obj):
            label = f"{name}.{member_name}"
            if isinstance(member, property):
                lines += [f"### {label}\n", f"`{label}` (property)\n", _markdown(inspect.getdoc(member) or "")]
            else:
                function = member.__func__ if isinstance(member, classmethod) else member
                kind = " (class method)" if isinstance(member, classmethod) else ""
                lines += [
                    f"### {label}\n",
                    f"`{label}{_signature(function, skip_first=True)}`{kind}\n",
                    _markdown(inspect.getdoc(function) or ""),
                ]
    return "\n".join(lines)


def _signature(obj, skip_first: bool = False) -> str:
    if inspect.isclass(obj) and issubclass(obj, Exception):
        return f"({obj.__bases__[0].__name__})"
    signature = inspect.signature(obj)
    parameters = list(signature.parameters.values())[1 if skip_first else 0 :]
    return "(" + ", ".join(_parameter(p) for p in parameters) + ")"


def _parameter(parameter: inspect.Parameter) -> str:
    if parameter.default is inspect.Parameter.empty:
        return parameter.name
    return f"{parameter.name}={parameter.default!r}"


def _render_constants(names: list[str]) -> str:
    rows = ["## Constants\n", "| name | value | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | `{getattr(quests_lmp, name)!r}` | {constant_comment(name)} |" for name in names]
    return "\n".join(rows) + "\n"


def constant_comment(name: str) -> str:
    """The comment after `NAME = value` in the engine module that defines the constant."""
    for path in Path(quests_lmp.__file__).parent.joinpath("engine").glob("*.py"):
        match = re.search(rf"^{name} = [^#\n]+#\s*(.+)$", path.read_text(), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return ""


def _markdown(doc: str) -> str:
    """A numpy-style docstring as markdown: sections in bold, parameters and errors as lists."""
    out, section, lines, i = [], None, doc.splitlines(), 0
    in_example = False
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.strip():
            section = line.strip()
            while out and not out[-1].strip():
                out.pop()
            out += ["", f"**{section}**", ""]
            i += 2
            continue
        if line.startswith(">>>") and not in_example:
            out += ["```python"]
            in_example = True
        elif in_example and not line.strip():
            out += ["```"]
            in_example = False
        if section in ("Parameters", "Raises") and line and not line.startswith(" ") and not in_example:
            term, _, kind = line.partition(" : ")
            description = []
            while i + 1 < len(lines) and lines[i + 1].startswith(" "):
                i += 1
                description.append(lines[i].strip())
            kind_text = f" ({kind})" if kind else ""
            out.append(f"- `{term}`{kind_text}: {' '.join(description)}".rstrip(": "))
        else:
            out.append(line)
        i += 1
    if in_example:
        out.append("```")
    return "\n".join(out).strip() + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv[1:]:
        if PAGE.read_text() != text:
            print(f"{PAGE} differs from the docstrings: run python doc/make_api.py", file=sys.stderr)
            raise SystemExit(1)
    else:
        PAGE.write_text(text)
