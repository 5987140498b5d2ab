"""Old spellings of public names (doc/glossary.md), still accepted: each warns once per process
with a DeprecationWarning naming the new spelling."""

from __future__ import annotations

import functools
import warnings

_WARNED: set[str] = set()


def warn_renamed(old: str, new: str) -> None:
    """A DeprecationWarning "old is now new", the first time only."""
    if old not in _WARNED:
        _WARNED.add(old)
        warnings.warn(f"{old} is now {new}; the old spelling will be removed", DeprecationWarning, stacklevel=3)


def renamed_keywords(**renames: str):
    """Decorator: keyword arguments of their old names (renames: old=new) are passed as the new
    ones, warning once; TypeError where both are given."""

    def decorate(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__qualname__}() got {old} and its new name {new}: give {new}")
                    warn_renamed(f"{function.__qualname__}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return call

    return decorate


def renamed_function(function, old: str):
    """`function` under its old name `old`, warning once when called."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        warn_renamed(old, function.__name__)
        return function(*args, **kwargs)

    call.__name__ = call.__qualname__ = old
    return call
