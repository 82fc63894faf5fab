"""Python source without docstrings and comments, every code line where it was.

The trimmed stdlib travels this way (tools/boot_snapshot.mjs runs it in Pyodide's Python, which
parses the stdlib's own syntax): about a third fewer bytes on the wire, while a traceback still
points at the right line and shows it. What changes is what `python -OO` changes for docstrings
(`__doc__` is None; the stdlib supports that) plus the comments: no statement moves, and
`check()` proves it for every file by comparing the syntax trees before and after.
"""

from __future__ import annotations

import ast
import io
import tokenize

#: Comments on these first lines stay (an encoding declaration, a shebang).
HEADER_LINES = 2
DocHolder = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def _docstring(node: ast.AST) -> ast.Expr | None:
    if not isinstance(node, DocHolder) or not node.body:
        return None
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def strip_source(source: str) -> str:
    """`source` without docstrings and comments; a body left empty gets `pass` on that line."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    # (first line, first column, last line, end column, replacement); lines 1-based, columns in
    # characters (ast counts UTF-8 bytes).
    edits: list[tuple[int, int, int, int, str]] = []

    def column(line: int, byte_offset: int) -> int:
        return len(lines[line - 1].encode()[:byte_offset].decode())

    for node in ast.walk(tree):
        if not isinstance(node, DocHolder):
            continue
        doc = _docstring(node)
        if doc is None or doc.end_lineno is None or doc.end_col_offset is None:
            continue
        end = column(doc.end_lineno, doc.end_col_offset)
        rest = lines[doc.end_lineno - 1][end:].strip()
        if rest and not rest.startswith("#"):
            continue  # `"""doc"""; x = 1`: the docstring stays
        only = len(node.body) == 1 and not isinstance(node, ast.Module)
        start = column(doc.lineno, doc.col_offset)
        edits.append((doc.lineno, start, doc.end_lineno, end, "pass" if only else ""))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.start[0] > HEADER_LINES:
            edits.append((*token.start, *token.end, ""))
    # Last first: an edit never moves the text of one before it (they do not overlap).
    for first, start, last, end, replacement in sorted(edits, reverse=True):
        tail = lines[last - 1][end:]
        text = (lines[first - 1][:start] + replacement + tail).rstrip("\r\n")
        if not tail.strip():
            text = text.rstrip()
        newline = "\n" if last > first or lines[last - 1].endswith("\n") else ""
        lines[first - 1 : last] = [text + newline] + ["\n"] * (last - first)
    return "".join(lines)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, DocHolder) and _docstring(node) is not None:
            doc = node.body.pop(0)
            if not node.body and not isinstance(node, ast.Module):
                node.body.append(ast.Pass(lineno=doc.lineno, col_offset=doc.col_offset))
    return tree


def check(source: str, stripped: str) -> bool:
    """True when `stripped` is `source` less its docstrings, every statement on its own line."""
    before = _without_docstrings(ast.parse(source))
    after = _without_docstrings(ast.parse(stripped))  # (a docstring kept: `"doc"; x = 1`)
    if ast.dump(before) != ast.dump(after):
        return False
    lines = [
        (type(n).__name__, n.lineno) for n in ast.walk(before) if isinstance(n, ast.stmt | ast.expr)
    ]
    return lines == [
        (type(n).__name__, n.lineno) for n in ast.walk(after) if isinstance(n, ast.stmt | ast.expr)
    ]


def strip_checked(source: str) -> str:
    """The stripped source when `check` proves it equivalent, else `source` unchanged."""
    try:
        stripped = strip_source(source)
        return stripped if check(source, stripped) else source
    except (SyntaxError, ValueError, UnicodeError):
        return source
