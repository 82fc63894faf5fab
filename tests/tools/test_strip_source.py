"""tools/strip_source.py: the stdlib travels without docstrings and comments, lines in place."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json.decoder
import textwrap
import typing
from types import ModuleType

import pytest

from tools.strip_source import check, strip_checked, strip_source

SAMPLE = textwrap.dedent(
    '''\
    #!/usr/bin/env python
    # -*- coding: utf-8 -*-
    """Module doc.

    More.
    """
    from __future__ import annotations
    import os  # why os
    TEMPLATE = """not a docstring
       trailing spaces stay   ␣
    """
    def only_doc():  # c
        """Doc é."""
    def two():
        """Doc
        on two lines"""
        return 1  # trailing
    class Kept:
        "doc"; value = 2
    class Empty:
        """Doc."""
    async def run(x):
        # a comment line
        return x * 2
    '''
).replace("␣", "")


def run(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "sample"}
    exec(compile(source, "sample.py", "exec"), namespace)
    return namespace


def test_docstrings_and_comments_go_every_line_stays() -> None:
    stripped = strip_source(SAMPLE)
    assert stripped.count("\n") == SAMPLE.count("\n")
    assert check(SAMPLE, stripped)
    assert "#" not in stripped.split("\n", 2)[2]  # no comment after the two header lines
    assert stripped.startswith("#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n")
    assert "Doc" not in stripped and "why os" not in stripped
    for before, after in zip(SAMPLE.splitlines(), stripped.splitlines(), strict=True):
        if after and after.strip() != "pass":  # the same line, less a comment at its end
            assert before.startswith(after.rstrip()), (before, after)
    namespace = run(stripped)
    assert namespace.get("__doc__") is None  # as under `python -OO`
    assert str(run(SAMPLE)["__doc__"]).startswith("Module doc.")
    assert namespace["TEMPLATE"] == run(SAMPLE)["TEMPLATE"]
    assert namespace["two"]() == 1  # type: ignore[operator]
    assert namespace["Kept"].__doc__ == "doc"  # type: ignore[attr-defined]  # `"doc"; x` stays
    assert namespace["only_doc"]() is None  # type: ignore[operator]  # body: `pass`
    assert asyncio.run(namespace["run"](3)) == 6  # type: ignore[operator]


def test_a_moved_line_fails_the_check() -> None:
    stripped = strip_source(SAMPLE)
    lines = stripped.splitlines(keepends=True)
    blank = lines.index("\n", 8)
    moved = "".join(lines[:blank] + lines[blank + 1 :] + ["\n"])
    assert not check(SAMPLE, moved)
    assert not check(SAMPLE, stripped.replace("return 1", "return 2"))


def test_what_cannot_be_proven_is_kept_as_it_is() -> None:
    assert strip_checked("x = (\n") == "x = (\n"  # not Python: unchanged
    # Two strings in a row: stripping the first makes the second a docstring (the trees differ).
    source = 'def f():\n    """Doc."""\n    "second"\n    return 1\n'
    assert strip_checked(source) is source


@pytest.mark.parametrize("module", [json.decoder, typing, inspect, asyncio.tasks])
def test_real_stdlib_files(module: ModuleType) -> None:
    source = inspect.getsource(module)
    stripped = strip_checked(source)
    assert stripped is not source and check(source, stripped)
    assert len(stripped) < 0.8 * len(source)
    ast.parse(stripped)
