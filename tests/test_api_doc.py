"""doc/api.md is generated from the docstrings, and every public name documents its arguments,
what it returns and the errors it raises."""

from __future__ import annotations

import importlib.util
import inspect
import re
import types
from pathlib import Path

import pytest
import quests_lmp

MAKE_API = Path(__file__).resolve().parents[1] / "doc" / "make_api.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_api", MAKE_API)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = load_generator()


def sections(doc: str) -> dict[str, str]:
    """Numpy-style sections of a docstring: {'Parameters': text, 'Returns': text, ...}."""
    found, current = {}, None
    lines = doc.splitlines()
    for line, below in zip(lines, lines[1:] + [""]):
        if re.fullmatch(r"-{3,}", below.strip()) and line.strip():
            current = line.strip()
            found[current] = ""
        elif current and not re.fullmatch(r"-{3,}", line.strip()):
            found[current] += line + "\n"
    return found


def documented_parameters(doc: str) -> set[str]:
    text = sections(doc).get("Parameters", "")
    names = set()
    for line in text.splitlines():
        if line and not line.startswith(" "):
            names.update(name.strip() for name in line.partition(" : ")[0].split(","))
    return names


def callables():
    """(label, function, documentation) of each public function, class constructor and method."""
    for name in quests_lmp.__all__:
        obj = getattr(quests_lmp, name)
        if inspect.isclass(obj) and not issubclass(obj, Exception):
            yield name, obj.__init__, inspect.getdoc(obj)
            for member_name, member in generator.public_members(obj):
                if isinstance(member, property):
                    continue
                function = member.__func__ if isinstance(member, classmethod) else member
                yield f"{name}.{member_name}", function, inspect.getdoc(function)
        elif inspect.isfunction(obj):
            yield name, obj, inspect.getdoc(obj)


CALLABLES = list(callables())


def test_api_page_is_generated_from_the_docstrings():
    assert MAKE_API.with_name("api.md").read_text() == generator.render(), (
        "doc/api.md differs from the docstrings: run `python doc/make_api.py`"
    )


def test_every_public_name_is_exported_and_has_a_section():
    page = MAKE_API.with_name("api.md").read_text()
    public = {
        name
        for name, value in vars(quests_lmp).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(quests_lmp.__all__)
    for name in quests_lmp.__all__:
        obj = getattr(quests_lmp, name)
        if callable(obj):
            assert f"\n## {name}\n" in page and inspect.getdoc(obj), name
        else:
            assert f"| `{name}` |" in page and generator.constant_comment(name), f"{name}: a comment on its line"


@pytest.mark.parametrize("label, function, doc", CALLABLES, ids=[label for label, _, _ in CALLABLES])
def test_every_argument_return_and_error_is_documented(label, function, doc):
    names = list(inspect.signature(function).parameters)
    parameters = names[1:] if "." in label or function.__name__ == "__init__" else names  # self, cls
    assert set(parameters) <= documented_parameters(doc), (
        f"{label}: undocumented {set(parameters) - documented_parameters(doc)}"
    )
    found = sections(doc)
    if function.__name__ != "__init__":
        assert found.get("Returns", "").strip(), f"{label}: no Returns section"
    if parameters:
        assert found.get("Raises", "").strip(), f"{label}: no Raises section"


def test_properties_are_documented():
    for name in quests_lmp.__all__:
        obj = getattr(quests_lmp, name)
        if inspect.isclass(obj):
            for member_name, member in generator.public_members(obj):
                if isinstance(member, property):
                    assert inspect.getdoc(member), f"{name}.{member_name}"


def test_an_undocumented_argument_is_caught():
    def f(a, b):
        """Adds.

        Parameters
        ----------
        a : float, A
            First.

        Returns
        -------
        float
        """

    assert documented_parameters(inspect.getdoc(f)) == {"a"}
    assert "Raises" not in sections(inspect.getdoc(f))
