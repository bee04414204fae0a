"""Proof that the book's checks bite: mutation testing of every labelled equation (``make mutants``).

Issue #15, section 5. For every function of ``companion`` whose docstring cites an equation label
(``eq-...``), this tool makes small, plausible mistakes in the function's body with Python's
``ast`` -- one at a time, each a *mutant*:

- ``sign``: ``a + b`` <-> ``a - b`` (also ``+=`` <-> ``-=``); ``unary-minus``: ``-x`` -> ``x``;
- ``double-return``: ``return e`` -> ``return 2 * (e)`` (each element of a returned tuple);
  ``double-const``: a numeric constant ``c`` of a product or quotient -> ``2 * c``;
- ``drop-sqrt``: ``sqrt(x)`` -> ``x``, ``x.sqrt()`` -> ``x``, ``x ** 0.5`` -> ``x``;
- ``index+1`` / ``index-1``: an index ``a[t]`` -> ``a[t + 1]`` / ``a[t - 1]``, and a step
  ``t`` passed to a call -> ``t + 1`` / ``t - 1``;
- ``exp-log``: ``exp`` <-> ``log``.

Argument checks are left alone (``raise``, ``assert``, f-strings, ``check_*`` calls, an ``if``
whose body only raises): a mistake there is not a mistake in the mathematics.

Each mutant is applied to a *copy* of the package in a temporary directory (the working tree is
never touched), placed first on the kernel's ``PYTHONPATH``, and the chapter that derives the
label is executed with nbclient (one kernel per run, per-cell timeout, stopping at the first
error). A first, hidden cell asserts that the kernel imported the copy. The mutant is *caught* by
the first cell that fails (its index, first line and error), or it *SURVIVED*. A function citing
labels of several chapters is run against each in turn until one catches it.

A surviving mutant whose printed outputs equal the unmutated chapter's is a candidate
*equivalent* mutant: the tool adds it to ``tools/mutants_equivalent.json`` with an empty
``reason``, for the maintainer to explain (or to strengthen the check instead). Results go to
``tools/mutants_results.json`` (merged across runs; results of a function whose code changed since
are dropped) and, as a table, to ``book/appendix_mutants.md`` between its generated-region markers.

Usage (``nice``: CPU is shared; one kernel at a time)::

    make mutants                                   # everything (hours; see --list)
    python tools/mutants.py --list                 # count the mutants, estimate the time, run nothing
    python tools/mutants.py --chapter toolkit      # one chapter
    python tools/mutants.py --chapter toolkit --limit 5
    python tools/mutants.py --table                # rewrite the appendix table from the JSON only
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PACKAGE = ROOT / "companion"
RESULTS = ROOT / "tools" / "mutants_results.json"
EQUIVALENT = ROOT / "tools" / "mutants_equivalent.json"
APPENDIX = BOOK / "appendix_mutants.md"
BEGIN = ("<!-- BEGIN GENERATED: tools/mutants.py writes this region from tools/mutants_results.json; "
         "do not edit -->")
END = "<!-- END GENERATED -->"

#: Seconds one execution of each chapter takes (measured by the lead, two shared CPU cores), for
#: the estimate of --list; a baseline this tool measures replaces the number for its chapter.
CHAPTER_SECONDS = {"toolkit": 4, "vae": 15, "gan": 17, "flows": 14, "diffusion": 11, "guidance": 14,
                   "capstone": 62}

#: Modules that implement no equation: presentation, book tooling, argument checks.
EXCLUDED_MODULES = {
    "families": "the family map's data and link reader (book tooling, tested in tests/test_families.py)",
    "widgets": "slider specifications and views (presentation: they call the mathematics, not define it)",
    "plotting": "figure style",
    "api_index": "the API page's index",
    "validation": "argument checks",
    "utils": "seeds, devices, training-step scaling",
}
#: Functions that cite a label but only present it: a widget's view recomputes nothing of its own.
EXCLUDED_NAME = re.compile(r"(?:_view|_widget_spec|_widget)$")

LABEL = re.compile(r"(?<![\w-])eq-[a-z0-9]+(?:-[a-z0-9]+)*")
#: Names of steps and indices: passed to a call, ``t`` -> ``t + 1`` is an index shift.
STEP_NAMES = {"t", "t_prev", "t_next", "tau", "step", "idx", "index", "i", "j"}
#: Calls whose arguments are argument checks, not mathematics.
CHECK_CALL = re.compile(r"^_?check")


# ---------------------------------------------------------------------------------------------
# Finding the labelled functions.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A function (or method) that implements labelled equations."""

    module: str  # file stem inside the package, e.g. "distributions"
    qualname: str  # "kl_normal" or "AffineCoupling.forward"
    labels: tuple[str, ...]
    sha: str  # of the function's code (not its docstring or layout), to drop results when it changes

    @property
    def name(self) -> str:
        return f"{self.module}.{self.qualname}"


def _prose(docstring: str) -> str:
    import doctest

    return "".join(p for p in doctest.DocTestParser().parse(docstring) if isinstance(p, str))


def _labels(node: ast.AST) -> tuple[str, ...]:
    doc = ast.get_docstring(node) or ""
    return tuple(dict.fromkeys(LABEL.findall(_prose(doc))))


def discover(package: Path = PACKAGE) -> list[Target]:
    """Every function of ``package`` whose docstring (or whose class's docstring) cites a label."""
    targets = []
    for path in sorted(package.glob("*.py")):
        if path.stem in EXCLUDED_MODULES or path.stem.startswith("__"):
            continue
        source = path.read_text()
        tree = ast.parse(source)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = [(node.name, node, _labels(node))]
            elif isinstance(node, ast.ClassDef):
                class_labels = _labels(node)
                found = [(f"{node.name}.{m.name}", m, _labels(m) or class_labels) for m in node.body
                         if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and not (m.name.startswith("__") and m.name != "__call__")]
            else:
                continue
            for qualname, fn, labels in found:
                if labels and not EXCLUDED_NAME.search(fn.name):
                    code = ast.dump(fn.args) + "".join(ast.dump(stmt) for stmt in _code_body(fn))
                    sha = hashlib.sha256(code.encode()).hexdigest()[:12]
                    targets.append(Target(path.stem, qualname, labels, sha))
    return targets


def _code_body(fn: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of ``fn`` after its docstring."""
    has_doc = fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
        and isinstance(fn.body[0].value.value, str)
    return fn.body[1:] if has_doc else fn.body


def find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef:
    parts = qualname.split(".")
    body = tree.body
    node = None
    for part in parts:
        node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and n.name == part)
        body = node.body
    return node


def toc_chapters(book: Path = BOOK) -> list[Path]:
    """The notebooks of ``book/_toc.yml``, in order."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from toc_notebooks import toc_files
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return [book / f"{f}.ipynb" for f in toc_files(book / "_toc.yml") if (book / f"{f}.ipynb").exists()]


def label_chapters(notebooks: list[Path]) -> dict[str, str]:
    """``{label: chapter}``: the notebook (stem) that defines each label."""
    from bookkit.families import notebook_labels

    out: dict[str, str] = {}
    for nb in notebooks:
        for label in notebook_labels(nb):
            out.setdefault(label, nb.stem)
    return out


# ---------------------------------------------------------------------------------------------
# Mutants.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    id: str
    target: Target
    op: str
    description: str  # "`a + b` -> `a - b`"
    start: int  # character offsets in the module's source
    end: int
    replacement: str
    probed: str = ""  # the replacement that also records, when evaluated, that the kernel reached it

    def apply(self, source: str, probe: bool = False) -> str:
        """``source`` with the mutation; with ``probe``, evaluating it sets ``builtins._mutant_reached``."""
        return source[: self.start] + (self.probed if probe else self.replacement) + source[self.end:]


#: An expression that records that it ran and is None, so ``(PROBE or e)`` is ``e``.
PROBE = "__import__('builtins').__dict__.__setitem__('_mutant_reached', True)"


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def _span(source: str, offsets: list[int], node: ast.AST) -> tuple[int, int]:
    """Character offsets of ``node`` (ast columns count UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)

    def at(lineno: int, col: int) -> int:
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    return at(node.lineno, node.col_offset), at(node.end_lineno, node.end_col_offset)


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _skipped_nodes(fn: ast.FunctionDef) -> set[int]:
    """ids of nodes inside argument checks, the docstring and annotations: not mutated."""
    skip: set[int] = set()

    def add(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant):
        add(fn.body[0])
    for node in ast.walk(fn):
        if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
            add(node)
        elif isinstance(node, ast.Call):
            name = _callee(node)
            if CHECK_CALL.match(name) or name in {"isinstance", "warn"}:
                add(node)
        elif isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body):
            add(node.test)
        elif isinstance(node, ast.AnnAssign):
            add(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not fn:
            for a in node.args.args + node.args.kwonlyargs:
                if a.annotation is not None:
                    add(a.annotation)
            if node.returns is not None:
                add(node.returns)
    return skip


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0


def _index_looking(node: ast.AST) -> bool:
    """An integer constant, a step or index name (``t``, ``i``, ``idx``), or a sum/difference of them."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Name):
        return node.id in STEP_NAMES or bool(re.fullmatch(r"[a-z]|\w*(?:idx|index|step)\w*", node.id))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return _index_looking(node.left) or _index_looking(node.right)
    return False


def _numeric_looking(node: ast.AST) -> bool:
    """Whether a returned value may be numbers (not a literal container, string, class instance or self)."""
    if isinstance(node, (ast.Dict, ast.List, ast.Set, ast.Lambda, ast.JoinedStr, ast.Starred, ast.Tuple,
                         ast.IfExp)):
        return False
    if isinstance(node, ast.Constant):
        return _is_number(node)
    if isinstance(node, ast.Name):
        return node.id != "self"
    if isinstance(node, ast.Call):
        name = _callee(node)
        return not (name[:1].isupper() or name in {"dict", "list", "tuple", "set", "str", "zip", "range"})
    return True


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (imports, assignments, definitions)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def mutants_of(target: Target, source: str) -> list[Mutant]:
    """Every mutant of ``target``'s body, in source order."""
    tree = ast.parse(source)
    fn = find_function(tree, target.qualname)
    offsets = _line_offsets(source)
    skip = _skipped_nodes(fn)
    out: list[Mutant] = []
    code = _code_body(fn)
    anchor = code[0].lineno if code else fn.lineno  # ids count lines from the code, past the docstring

    def seg(node: ast.AST) -> str:
        a, b = _span(source, offsets, node)
        return source[a:b]

    def add(op: str, node: ast.AST, replacement: str, probed: str | None = None) -> None:
        a, b = _span(source, offsets, node)
        rel = (f"{node.lineno - anchor}:{node.col_offset}-"
               f"{node.end_lineno - anchor}:{node.end_col_offset}")
        description = f"`{_short(source[a:b])}` -> `{_short(replacement)}`"
        probed = f"({PROBE} or {replacement})" if probed is None else probed
        out.append(Mutant(f"{target.name}@{rel} {op}", target, op, description, a, b, replacement, probed))

    bound = _bound_names(tree) | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                                  and isinstance(n.ctx, ast.Store)}

    body = [n for stmt in fn.body for n in ast.walk(stmt)]  # the body only: not defaults, not decorators
    for node in body:
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.Add, ast.Sub)):
                new = "-" if isinstance(node.op, ast.Add) else "+"
                add("sign", node, f"(({seg(node.left)}) {new} ({seg(node.right)}))")
            if isinstance(node.op, (ast.Mult, ast.Div)):
                for side in (node.left, node.right):
                    if _is_number(side) and id(side) not in skip:
                        add("double-const", side, f"(2 * {seg(side)})")
            if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) \
                    and node.right.value == 0.5:
                add("drop-sqrt", node, f"({seg(node.left)})")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
            new = "-=" if isinstance(node.op, ast.Add) else "+="
            add("sign", node, f"{seg(node.target)} {new} {seg(node.value)}",
                f"{seg(node.target)} {new} ({PROBE} or ({seg(node.value)}))")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            add("unary-minus", node, f"({seg(node.operand)})")
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and not _is_number(value):
                continue
            elements = value.elts if isinstance(value, ast.Tuple) else [value]
            for element in elements:
                if not _numeric_looking(element):
                    continue
                add("double-return", element, f"2 * ({seg(element)})")
        elif isinstance(node, ast.Call):
            name = _callee(node)
            if name == "sqrt":
                if node.args and isinstance(node.func, ast.Name | ast.Attribute):
                    if len(node.args) == 1 and not node.keywords and (
                            isinstance(node.func, ast.Name) or isinstance(node.func.value, ast.Name)):
                        add("drop-sqrt", node, f"({seg(node.args[0])})")
                elif isinstance(node.func, ast.Attribute) and not node.args:
                    add("drop-sqrt", node, f"({seg(node.func.value)})")
            if isinstance(node.func, ast.Name) and name in ("exp", "log"):
                other = "log" if name == "exp" else "exp"
                if other in bound:  # else the mutant is only a NameError
                    add("exp-log", node.func, other)
            for arg in node.args:
                if isinstance(arg, ast.Name) and arg.id in STEP_NAMES and id(arg) not in skip:
                    add("index+1", arg, f"({arg.id} + 1)")
                    add("index-1", arg, f"({arg.id} - 1)")
        elif isinstance(node, ast.Attribute) and node.attr in ("exp", "log"):
            other = "log" if node.attr == "exp" else "exp"  # torch.exp, np.log, x.exp() ...
            value = seg(node.value) if isinstance(node.value, ast.Name) else f"({seg(node.value)})"
            add("exp-log", node, f"{value}.{other}")
        elif isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice) and not (
                isinstance(node.value, ast.Attribute) and node.value.attr == "shape"):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for item in items:
                if id(item) in skip or not _index_looking(item):
                    continue
                add("index+1", item, f"({seg(item)} + 1)")
                add("index-1", item, f"({seg(item)} - 1)")
    out.sort(key=lambda m: (m.start, m.end, m.op))
    return out


def all_mutants(package: Path = PACKAGE) -> list[Mutant]:
    out = []
    for target in discover(package):
        out += mutants_of(target, (package / f"{target.module}.py").read_text())
    return out


# ---------------------------------------------------------------------------------------------
# Running a chapter against a mutant.
# ---------------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIMES = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*(?:ms|s|sec|seconds|it/s)\b")

GUARD = """\
import os as _os, sys as _sys
import {package} as _pkg
assert _os.path.realpath(_pkg.__file__).startswith(_os.path.realpath({root!r})), _pkg.__file__
del _os, _sys, _pkg
"""


@dataclass
class Outcome:
    status: str  # "caught" or "survived"
    seconds: float
    cell: int | None = None  # 0-based index of the failing cell in the chapter
    first_line: str = ""
    error: str = ""
    line: str = ""  # the failing line, from the traceback
    reached: bool | None = None  # whether the chapter executed the mutated expression (survivors)
    outputs: list[str] = field(default_factory=list)  # printed text per code cell, for equivalence


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            return line.strip()
    return source.strip().splitlines()[0] if source.strip() else ""


def _failing_line(traceback: str) -> str:
    """The cell's line that IPython's traceback marks (``----> 5 assert``, ``---> 13 x``): first frame."""
    marked = [m.group(1) for x in traceback.splitlines()
              if (m := re.match(r"^\s*-+>\s*\d+\s?(.*)$", _ANSI.sub("", x)))]
    return marked[0].strip() if marked else ""


def _cell_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return _TIMES.sub("#", "".join(parts))


def run_chapter(notebook: Path, package: Path = PACKAGE, mutant: Mutant | None = None,
                timeout: int = 120, cwd: Path | None = None, text: str | None = None) -> Outcome:
    """Execute ``notebook`` (or its snapshot ``text``) in a fresh kernel against a copy of ``package``,
    mutated by ``mutant`` if given."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.reads(notebook.read_text() if text is None else text, as_version=4)
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        copy = Path(tmp) / package.name
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if mutant is not None:
            path = copy / f"{mutant.target.module}.py"
            mutated = mutant.apply(path.read_text(), probe=True)
            try:
                ast.parse(mutated)
            except SyntaxError as err:  # a bug of this tool, not a result
                raise RuntimeError(f"mutant {mutant.id} does not parse: {err}") from err
            path.write_text(mutated)
        guard = nbformat.v4.new_code_cell(GUARD.format(package=package.name, root=str(copy)))
        probe = nbformat.v4.new_code_cell("import builtins\nprint(getattr(builtins, '_mutant_reached', 0))")
        cells = [guard, *nb.cells]
        nb.cells = [*cells, probe]
        path = os.pathsep.join([tmp, *filter(None, [os.environ.get("PYTHONPATH")])])
        env = dict(os.environ, PYTHONPATH=path, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                                resources={"metadata": {"path": str(cwd or notebook.parent)}})
        start = time.perf_counter()
        outcome = Outcome("survived", 0.0)
        with client.setup_kernel(env=env):
            for index, cell in enumerate(cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                    if index == 0:
                        raise RuntimeError(f"the kernel did not import the package's copy: {err}") from err
                    if isinstance(err, CellExecutionError):
                        error = f"{err.ename}: {_ANSI.sub('', err.evalue)}".strip().rstrip(":")
                        line = _failing_line(err.traceback)
                    else:
                        error, line = type(err).__name__, ""
                    outcome = Outcome("caught", 0.0, index - 1, _first_line(cell.source), _short(error, 160),
                                      _short(line, 120))
                    break
            if outcome.status == "survived" and mutant is not None:
                client.execute_cell(probe, len(cells))
                outcome.reached = "True" in "".join(o.get("text", "") for o in probe.outputs)
        outcome.seconds = round(time.perf_counter() - start, 2)
        outcome.outputs = [_cell_text(c) for c in cells[1:] if c.cell_type == "code"]
        return outcome


# ---------------------------------------------------------------------------------------------
# Results, equivalence notes and the appendix table.
# ---------------------------------------------------------------------------------------------


def load_json(path: Path, default: dict) -> dict:
    return json.loads(path.read_text()) if path.exists() else default


def save_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n")


def equivalent_reasons(equivalent: dict) -> dict[str, str]:
    """``{mutant id: reason}`` for the notes whose ``reason`` the maintainer filled in."""
    return {e["id"]: e["reason"] for e in equivalent.get("mutants", []) if e.get("reason", "").strip()}


def plan(mutants: list[Mutant], chapters_of: dict[str, str]) -> dict[str, list[str]]:
    """``{mutant id: [chapter, ...]}``: the chapters that define the mutant's labels, in citing order."""
    return {m.id: list(dict.fromkeys(chapters_of[lab] for lab in m.target.labels if lab in chapters_of))
            for m in mutants}


def _unfinished(entry: dict | None, chapters: list[str], only: list[str]) -> bool:
    """Whether a mutant still needs a run: no result, or it survived and a chapter it is planned for
    (among ``only``, when given) has not run it yet."""
    if entry is None:
        return True
    runs = entry.get("runs", {})
    if any(r["status"] == "caught" for r in runs.values()):
        return False
    return any(c not in runs for c in chapters if not only or c in only)


def status_of(entry: dict, chapters: list[str], reasons: dict[str, str]) -> str:
    runs = entry.get("runs", {})
    if any(r["status"] == "caught" for r in runs.values()):
        return "caught"
    if not chapters:
        return "no chapter"
    if all(c in runs for c in chapters):
        return "equivalent" if entry["id"] in reasons else "SURVIVED"
    return "not run"


def _code(text: str) -> str:
    """``text`` as inline code in a Markdown table cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _cell_words(run: dict) -> str:
    text = f"cell {run['cell']}: {_code(run['first_line'])}"
    if run.get("error"):
        text += " (" + run["error"].replace("`", "'").replace("|", "\\|")
        text += f"; at {_code(run['line'])})" if run.get("line") and run["line"] != run["first_line"] else ")"
    return text


def render_table(results: dict, mutants: list[Mutant], chapters_of: dict[str, str], reasons: dict[str, str],
                 estimate_seconds: dict[str, float]) -> str:
    """The generated region of the appendix: what was run, when, the counts, the table."""
    planned = plan(mutants, chapters_of)
    order = {c: k for k, c in enumerate(dict.fromkeys(chapters_of.values()))}  # the book's order
    mutants = sorted(mutants, key=lambda m: order.get((planned[m.id] or [""])[0], len(order)))
    entries = results.get("mutants", {})
    rows, counts = [], {"caught": 0, "SURVIVED": 0, "equivalent": 0, "no chapter": 0, "not run": 0}
    for m in mutants:
        entry = entries.get(m.id, {"id": m.id, "runs": {}})
        status = status_of(entry, planned[m.id], reasons)
        counts[status] += 1
        if status == "not run":
            continue
        runs = entry.get("runs", {})
        caught = next(((c, r) for c, r in runs.items() if r["status"] == "caught"), None)
        if caught:
            verdict = f"{{doc}}`{caught[0]}` {_cell_words(caught[1])}"
        elif status == "equivalent":
            verdict = "equivalent: " + reasons[m.id].replace("|", "\\|")
        elif status == "no chapter":
            verdict = "no chapter defines " + ", ".join(f"`{lab}`" for lab in m.target.labels)
        elif not any(r.get("reached") for r in runs.values()):
            verdict = "**SURVIVED**: the chapter never executes this line"
        else:
            same = all(r.get("same_outputs") for r in runs.values() if r.get("reached"))
            verdict = "**SURVIVED**" + (": same printed outputs (equivalent?)" if same else "")
        # an equation a chapter defines is shown by its number (a role), never by its label
        labels = ", ".join(_code(lab) if status == "no chapter" else f"{{eq}}`{lab}`"
                           for lab in m.target.labels)
        before, after = m.description[1:-1].split("` -> `", 1)
        rows.append(f"| {labels} | {_code(m.target.name)} | {m.op}: {_code(before)} -> {_code(after)} "
                    f"| {verdict.replace(chr(10), ' ')} |")
    by_chapter: dict[str, int] = {}
    for m in mutants:
        if planned[m.id]:
            by_chapter[planned[m.id][0]] = by_chapter.get(planned[m.id][0], 0) + 1
    total_s = sum(n * estimate_seconds.get(c, 0) for c, n in by_chapter.items())
    unknown = [c for c in by_chapter if c not in estimate_seconds]
    ran = results.get("last_run", {})
    lines = [
        BEGIN,
        "",
        f"Last run: {ran.get('when', 'never')}, chapters {', '.join(ran.get('chapters', [])) or 'none'} "
        f"(command: `{ran.get('command', '')}`).",
        "",
        f"Mutants in the book: {len(mutants)} in {len({m.target.name for m in mutants})} functions; "
        + ", ".join(f"{c} {n}" for c, n in by_chapter.items()) + ". "
        f"A full run executes at least one chapter per mutant: about {total_s / 3600:.1f} hours at the "
        "chapters' measured times" + (f" (not counting {', '.join(unknown)}: not timed yet)."
                                      if unknown else "."),
        "",
        "Status: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".",
        "",
        "| equation | function | mutant | caught by |",
        "|---|---|---|---|",
        *rows,
        "",
        END,
    ]
    return "\n".join(lines)


def write_appendix(region: str, page: Path = APPENDIX) -> None:
    text = page.read_text()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < 0:
        raise ValueError(f"page: {page} has no generated-region markers")
    page.write_text(text[:a] + region + text[b + len(END):])


# ---------------------------------------------------------------------------------------------
# The command.
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", action="append", default=[], help="run only this chapter (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="run at most this many mutants")
    parser.add_argument("--only", default=None, help="run only mutants whose id matches this regex")
    parser.add_argument("--list", action="store_true", help="count mutants, estimate the time, run nothing")
    parser.add_argument("--table", action="store_true", help="only rewrite the appendix table from the JSON")
    parser.add_argument("--rerun", action="store_true", help="run mutants that already have a result again")
    parser.add_argument("--timeout", type=int, default=120, help="per-cell timeout, seconds")
    parser.add_argument("--package", type=Path, default=PACKAGE)
    parser.add_argument("--book", type=Path, default=BOOK)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--equivalent", type=Path, default=EQUIVALENT)
    parser.add_argument("--page", type=Path, default=APPENDIX)
    args = parser.parse_args(argv)
    # One snapshot of the package for the whole run: others may edit the working tree meanwhile, and
    # a mutant's offsets must refer to the text it is applied to.
    with tempfile.TemporaryDirectory(prefix="mutants-snapshot-") as snap:
        args.package = Path(shutil.copytree(args.package, Path(snap) / args.package.name,
                                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc")))
        return _main(parser, args, argv)


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str] | None) -> int:
    notebooks = toc_chapters(args.book)
    chapter_path = {nb.stem: nb for nb in notebooks}
    chapters_of = label_chapters(notebooks)
    mutants = all_mutants(args.package)
    planned = plan(mutants, chapters_of)
    for name in args.chapter:
        if name not in chapter_path:
            parser.error(f"--chapter: no chapter {name!r} in {args.book / '_toc.yml'}")

    results = load_json(args.results, {"mutants": {}, "baselines": {}})
    current = {m.id: m for m in mutants}
    results["mutants"] = {k: v for k, v in results.get("mutants", {}).items()
                          if k in current and v.get("sha") == current[k].target.sha}
    equivalent = load_json(args.equivalent, {"mutants": []})
    seconds = dict(CHAPTER_SECONDS)
    seconds.update({c: b["seconds"] for c, b in results.get("baselines", {}).items()})

    if args.list:
        by_chapter: dict[str, int] = {}
        order = {c: k for k, c in enumerate(dict.fromkeys(chapters_of.values()))}
        for m in sorted(mutants, key=lambda m: order.get((planned[m.id] or [""])[0], len(order))):
            key = planned[m.id][0] if planned[m.id] else "(no chapter)"
            by_chapter[key] = by_chapter.get(key, 0) + 1
        for c, n in by_chapter.items():
            each = seconds.get(c)
            print(f"{c:14s} {n:5d} mutants  x {each:5.1f} s = {n * each / 60:7.1f} min" if each is not None
                  else f"{c:14s} {n:5d} mutants  (chapter not timed yet)")
        total = sum(n * seconds.get(c, 0) for c, n in by_chapter.items())
        functions = len({m.target.name for m in mutants})
        print(f"{'total':14s} {len(mutants):5d} mutants in {functions} functions, "
              f"about {total / 3600:.1f} h (one chapter run per mutant; more where a survivor's labels span "
              "several chapters)")
        return 0

    if not args.table:
        chosen = [m for m in mutants if planned[m.id]
                  and (not args.chapter or set(planned[m.id]) & set(args.chapter))
                  and (args.only is None or re.search(args.only, m.id))
                  and (args.rerun or _unfinished(results["mutants"].get(m.id), planned[m.id], args.chapter))]
        if args.limit is not None:
            chosen = chosen[: args.limit]
        baselines: dict[str, Outcome] = {}
        texts: dict[str, str] = {}
        started = _dt.datetime.now(_dt.timezone.utc)
        run_chapters: list[str] = []
        for k, m in enumerate(chosen, 1):
            entry = {"id": m.id, "function": m.target.name, "labels": list(m.target.labels), "op": m.op,
                     "mutant": m.description, "sha": m.target.sha, "runs": {}}
            if not args.rerun and m.id in results["mutants"]:     # survived some chapters, others left
                entry["runs"] = dict(results["mutants"][m.id]["runs"])
            for chapter in planned[m.id]:
                if (args.chapter and chapter not in args.chapter) or chapter in entry["runs"]:
                    continue
                if chapter not in baselines:
                    texts[chapter] = chapter_path[chapter].read_text()  # one snapshot per run
                    base = run_chapter(chapter_path[chapter], args.package, None, args.timeout,
                                       text=texts[chapter])
                    if base.status != "survived":
                        print(f"baseline of {chapter} fails at cell {base.cell}: {base.error}",
                              file=sys.stderr)
                        return 2
                    baselines[chapter] = base
                    results.setdefault("baselines", {})[chapter] = {"seconds": base.seconds}
                    run_chapters.append(chapter)
                    print(f"baseline {chapter}: passes, {base.seconds:.1f} s", flush=True)
                out = run_chapter(chapter_path[chapter], args.package, m, args.timeout, text=texts[chapter])
                run = {k2: v for k2, v in asdict(out).items() if k2 != "outputs"}
                run["same_outputs"] = (out.status == "survived" and bool(out.reached)
                                       and out.outputs == baselines[chapter].outputs)
                entry["runs"][chapter] = run
                note = (" (never executed)" if not out.reached
                        else " (same outputs)" if run["same_outputs"] else "")
                where = f"cell {out.cell} ({out.error})" if out.status == "caught" else "SURVIVED" + note
                print(f"[{k}/{len(chosen)}] {m.id}: {m.description} -> {chapter}: {where}, "
                      f"{out.seconds:.1f} s", flush=True)
                if out.status == "caught":
                    break
            results["mutants"][m.id] = entry
            if entry["runs"] and all(r["status"] == "survived" and r["same_outputs"]
                                     for r in entry["runs"].values()):
                known = {e["id"] for e in equivalent.setdefault("mutants", [])}
                if m.id not in known:
                    equivalent["mutants"].append({"id": m.id, "mutant": m.description, "reason": ""})
                    save_json(args.equivalent, equivalent)
            results["last_run"] = {"when": started.strftime("%Y-%m-%d %H:%M UTC"), "chapters": run_chapters,
                                   "command": "python tools/mutants.py " + " ".join(argv or sys.argv[1:])}
            save_json(args.results, results)

    if args.page.exists():
        reasons = equivalent_reasons(equivalent)
        write_appendix(render_table(results, mutants, chapters_of, reasons, seconds), args.page)
    return 0


if __name__ == "__main__":
    try:
        os.nice(10)  # the kernels inherit it: CPU is shared
    except OSError:
        pass
    sys.exit(main())
