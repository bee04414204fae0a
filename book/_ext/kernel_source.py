"""Show the mathematics of a ``companion`` function, not its packaging.

The chapters quote the package with ``literalinclude`` and ``:pyobject:``. The full source of a
function carries a docstring (reST and TeX written for ``help()``, shown raw on a web page) and
argument checks (which the reader does not need to follow the derivation). This extension
replaces Sphinx's ``literalinclude`` for files inside ``companion/`` quoted by ``:pyobject:``:

- the docstring is dropped;
- argument checks are dropped: an ``if`` whose body only raises, an ``assert``, and a statement
  whose value is a call to ``check_*`` / ``_check_*`` (alone, or assigned, or a tuple of them);
- a caption names the function and links to its row on the API page, which has the full
  docstring's first line (and ``help()`` in a notebook has the rest);
- a kernel longer than :data:`COLLAPSE_AFTER` lines is collapsed behind a "show" button
  (sphinx-togglebutton) under its caption, so a page never opens on a hundred lines of code
  and the reader still sees which function, and which listing number, is folded there.

Every other ``literalinclude`` behaves as Sphinx's own. ``kernel_lines`` is importable for tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.directives.code import LiteralInclude

#: Kernels longer than this many lines are collapsed.
COLLAPSE_AFTER = 30


def _is_check_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name.startswith(("check_", "_check_"))


def _is_argument_check(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.If) and not stmt.orelse and all(isinstance(s, ast.Raise) for s in stmt.body):
        return True
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    if value is None:
        return False
    if isinstance(value, ast.Tuple):
        return bool(value.elts) and all(_is_check_call(v) for v in value.elts)
    return _is_check_call(value)


def _find(tree: ast.Module, qualname: str) -> ast.AST:
    body, node = tree.body, None
    for part in qualname.split("."):
        matches = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                   and n.name == part]
        if not matches:
            raise ValueError(f"pyobject: {qualname!r} is not defined in the file")
        node = matches[0]
        body = node.body
    return node


def kernel_lines(source: str, qualname: str) -> tuple[list[str], int]:
    """The lines of ``qualname`` in ``source`` without docstrings and argument checks.

    Returns the kept lines and how many statements were dropped. Docstrings and checks are
    removed in every function of a class too (a class is shown with its methods' kernels).
    Where dropping the checks at every depth would leave code that does not parse (a branch
    that was only checks, next to an ``else``), only the top-level checks go; failing that,
    only the docstrings.
    """
    import textwrap

    for depth in ("deep", "top", "docstrings"):
        kept, dropped = _kernel_lines(source, qualname, depth)
        try:
            ast.parse(textwrap.dedent("\n".join(kept)))
            return kept, dropped
        except SyntaxError:
            continue
    return source.splitlines()[_find(ast.parse(source), qualname).lineno - 1:
                               _find(ast.parse(source), qualname).end_lineno], 0


def _kernel_lines(source: str, qualname: str, depth: str) -> tuple[list[str], int]:
    tree = ast.parse(source)
    target = _find(tree, qualname)
    lines = source.splitlines()
    drop: set[int] = set()   # 0-based line numbers
    dropped = 0

    def drop_stmt(stmt: ast.stmt) -> None:
        nonlocal dropped
        dropped += 1
        drop.update(range(stmt.lineno - 1, stmt.end_lineno))

    for node in ast.walk(target):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                drop_stmt(first)
        # argument checks at any depth of a function: its body, loops, branches, with-blocks
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(node, ast.ClassDef) or not isinstance(stmts, list) or depth == "docstrings":
                continue
            if depth == "top" and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for stmt in stmts:
                if isinstance(stmt, ast.stmt) and _is_argument_check(stmt):
                    drop_stmt(stmt)
    # a loop or a block whose whole body was checks goes too (no empty `for` left behind)
    changed = depth == "deep"
    while changed:
        changed = False
        for node in ast.walk(target):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.For, ast.While, ast.If, ast.With)) and node.lineno - 1 not in drop
                    and body and all(set(range(b.lineno - 1, b.end_lineno)) <= drop for b in body)
                    and not getattr(node, "orelse", None)):
                drop_stmt(node)
                changed = True
    start = min([d.lineno for d in getattr(target, "decorator_list", [])] + [target.lineno]) - 1
    kept = [line for i, line in enumerate(lines[start:target.end_lineno], start) if i not in drop]
    return kept, dropped


def _api_anchor(path: Path, qualname: str) -> str:
    """The API index's anchor for ``qualname``: its own row when it is public, else its module's."""
    module, name = path.stem, qualname.split(".")[0]
    return f"companion.{module}" if name.startswith("_") else f"companion.{module}.{name}"


class KernelInclude(LiteralInclude):
    """``literalinclude`` that shows only the kernel of a ``companion`` function (see module doc)."""

    def run(self) -> list[nodes.Node]:
        pyobject = self.options.get("pyobject")
        _, filename = self.env.relfn2path(self.arguments[0])
        path = Path(filename)
        selects = {"lines", "start-at", "start-after", "end-at", "end-before"} & set(self.options)
        if not pyobject or path.parent.name != "companion" or selects:
            return super().run()   # an explicit excerpt is shown as chosen
        self.env.note_dependency(str(path))
        try:
            kept, dropped = kernel_lines(path.read_text(encoding="utf-8"), pyobject)
        except (SyntaxError, ValueError) as exc:
            return [self.state.document.reporter.warning(str(exc), line=self.lineno)]
        indent = min((len(s) - len(s.lstrip()) for s in kept if s.strip()), default=0)
        text = "\n".join(s[indent:] for s in kept).rstrip() + "\n"
        block = nodes.literal_block(text, text, source=str(path))
        block["language"] = self.options.get("language", "python")
        block["classes"] += ["kernel-source", *self.options.get("class", [])]
        self.set_source_info(block)

        anchor = _api_anchor(path, pyobject).replace(".", "-")
        omitted = "docstring and argument checks omitted" if dropped else "as in the package"
        caption = nodes.caption(
            "", "", nodes.literal("", f"companion.{path.stem}.{pyobject}"), nodes.Text(f" ({omitted}; "),
            nodes.reference("", "API index", refuri=f"api.html#{anchor}", internal=True), nodes.Text(")"))
        self.set_source_info(caption)
        wrapped = nodes.container("", literal_block=True,
                                  classes=["literal-block-wrapper", "kernel-source-container"])
        wrapped += caption
        wrapped += block
        if text.count("\n") > COLLAPSE_AFTER:
            block["classes"].append("toggle")  # the code collapses; its caption stays in view
        self.add_name(wrapped)
        return [wrapped]


def setup(app: Sphinx) -> dict:
    app.add_directive("literalinclude", KernelInclude, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
