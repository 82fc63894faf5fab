"""Benches and the test kit stand on their own: nothing in `bench/` or `pyrtvi_testing` imports
the repository's `tests` package (issue 22: the pieces they share live in the kit or in bench/;
the stock runner bot is started by its path)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = sorted(
    [*(ROOT / "bench").glob("*.py"), *(ROOT / "server" / "pyrtvi_testing").rglob("*.py")]
)


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, at any depth (absolute names; relative ones as `.name`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_the_sources_are_found() -> None:
    names = {path.name for path in SOURCES}
    assert {"kit.py", "support.py", "connect.py", "plugin.py", "harness.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_tests(path: Path) -> None:
    bad = [name for name in imported_modules(path) if name == "tests" or name.startswith("tests.")]
    assert not bad, (
        f"{path.relative_to(ROOT)} imports {bad}: move what it needs to the kit or bench/"
    )


def test_the_check_sees_an_import_of_tests(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from tests.runner_bot import RunnerBot\nimport tests\n")
    assert sorted(imported_modules(source)) == ["tests", "tests.runner_bot"]
