"""The shipped snapshot's code keeps its line numbers (tools/boot_snapshot.mjs: LINE_NUMBERS_ONLY),
checked in CPython (3.11+ has the same location tables) in a process of its own: the script
replaces the code of every function in the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

MODULE = """
def outer(a, b):
    def inner(c):
        return (a.x
                + b[c]
                - len(c))
    try:
        return inner
    except KeyError:
        return {k: v for k, v in a.items()
                if v}
"""

CHECK = """
import email.message, importlib, json, sys

def walk(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_positions"):
            yield from walk(const)

def lines(code):
    return [[position[0] for position in c.co_positions()] for c in walk(code)]

def columns(code):
    return any(position[2] is not None for c in walk(code) for position in c.co_positions())

compiled = [email.message.Message.get, json.JSONDecoder.decode]  # before the hooks
before = [(lines(f.__code__), columns(f.__code__)) for f in compiled]
exec(sys.stdin.read())  # defines _line_numbers_only; the build's hooks are on
sys.path.insert(0, sys.argv[1])
imported = importlib.import_module("lean_module").outer  # compiled through a hook
fresh = compile(open(sys.argv[1] + "/lean_module.py").read(), "lean_module.py", "exec")
expected = lines(next(c for c in fresh.co_consts if getattr(c, "co_name", "") == "outer"))
_line_numbers_only()  # what was compiled before the hooks
after = [(lines(f.__code__), columns(f.__code__)) for f in compiled]
print(json.dumps({"before": before, "after": after,
                  "hooked": [expected, lines(imported.__code__), columns(imported.__code__)]}))
"""


def test_the_snapshots_code_keeps_its_lines_without_columns(tmp_path: Path) -> None:
    (tmp_path / "lean_module.py").write_text(MODULE)
    source = (ROOT / "tools" / "boot_snapshot.mjs").read_text()
    script = source.split("const LINE_NUMBERS_ONLY = `", 1)[1].split("`;", 1)[0]
    result = subprocess.run(
        [sys.executable, "-B", "-c", CHECK, str(tmp_path)],
        input=script,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    for (lines, had_columns), (lines_after, has_columns) in zip(
        report["before"], report["after"], strict=True
    ):
        assert had_columns and not has_columns
        assert lines_after == lines  # every instruction of every nested code keeps its line
    expected, hooked, hooked_columns = report["hooked"]
    assert hooked == expected and not hooked_columns
