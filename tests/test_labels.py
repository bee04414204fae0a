"""Every label the book or the package cites exists (issue #15, section 3, "Labels").

- Each ``eq-...`` label named in a ``companion`` docstring (doctest examples aside), in a string
  of ``companion`` code (the family map's links) or anywhere in a chapter or page is defined by
  some page of the book, in one of the three MyST forms :func:`bookkit.families.notebook_labels`
  reads: ``$$ ... $$ (eq-name)``, ``(eq-name)=`` and ``:label: eq-name`` in a ``{math}`` block.
- Every ``{eq}``, ``{ref}`` and ``{numref}`` role in the book resolves to a defined label, and
  every ``{doc}`` role to a page.
- No label is defined twice (Sphinx would warn, and a link would go to one of them at random).

The failure message lists each citation with where it is, so it reads as a to-do list.
"""

from __future__ import annotations

import ast
import doctest
import json
import re
from collections import defaultdict
from pathlib import Path

from toc_notebooks import BOOK, toc_files

# The three label forms, shared with the package's own reader so the two cannot disagree.
from bookkit.families import _EQ_LABEL, _MATH_LABEL, _SECTION_LABEL

COMPANION = BOOK.parent / "companion"
EQ_CITATION = re.compile(r"(?<![\w-])eq-[a-z0-9]+(?:-[a-z0-9]+)*")
ROLE = re.compile(r"\{(?P<role>eq|ref|numref|doc)\}`(?P<body>[^`]+)`")


def defined_labels(markdown: str) -> list[str]:
    """Labels defined in one Markdown text, in the three forms (with repeats)."""
    return [label for pattern in (_SECTION_LABEL, _EQ_LABEL, _MATH_LABEL)
            for label in pattern.findall(markdown)]


def role_targets(markdown: str) -> list[tuple[str, str]]:
    """``(role, target)`` of each ``{eq}``/``{ref}``/``{numref}``/``{doc}`` role; ``text <target>`` aware."""
    out = []
    for m in ROLE.finditer(markdown):
        body = m.group("body").strip()
        explicit = re.search(r"<([^<>]+)>\s*$", body)
        out.append((m.group("role"), explicit.group(1).strip() if explicit else body))
    return out


def prose(docstring: str) -> str:
    """A docstring without its doctest examples (their strings are test data, not citations)."""
    return "".join(part for part in doctest.DocTestParser().parse(docstring) if isinstance(part, str))


def source_citations(source: str, where: str) -> list[tuple[str, str]]:
    """``(label, where:line)`` for each ``eq-`` label a Python module cites in a docstring or names
    as a whole string constant (``"eq-elbo"``)."""
    tree = ast.parse(source)
    out = []
    docstring_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body and isinstance(node.body[0], ast.Expr):
                docstring_nodes.add(id(node.body[0].value))
                line = node.body[0].value.lineno
                owner = getattr(node, "name", "the module")
                for m in EQ_CITATION.finditer(prose(doc)):
                    out.append((m.group(), f"{where}:{line} (docstring of {owner})"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstring_nodes
                and EQ_CITATION.fullmatch(node.value)):
            out.append((node.value, f"{where}:{node.lineno}"))
    return out


def book_pages() -> dict[str, list[tuple[str, str, str]]]:
    """``{page file name: [(where, cell type, text)]}`` for every page in ``_toc.yml``."""
    pages = {}
    for name in toc_files():
        nb, md = BOOK / f"{name}.ipynb", BOOK / f"{name}.md"
        if nb.exists():
            cells = json.loads(nb.read_text())["cells"]
            pages[nb.name] = [(f"book/{nb.name}:cell {i}", c["cell_type"],
                               c["source"] if isinstance(c["source"], str) else "".join(c["source"]))
                              for i, c in enumerate(cells)]
        elif md.exists():
            pages[md.name] = [(f"book/{md.name}", "markdown", md.read_text())]
    return pages


def figure_names() -> dict[str, list[str]]:
    """``{name: [where]}`` of the figures named in code cells' metadata (``mystnb.figure.name``,
    which MyST-NB makes a numbered figure that ``{numref}`` can cite)."""
    names: dict[str, list[str]] = defaultdict(list)
    for name in toc_files():
        nb = BOOK / f"{name}.ipynb"
        if nb.exists():
            for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
                figure = (cell.get("metadata", {}).get("mystnb") or {}).get("figure") or {}
                if figure.get("name"):
                    names[figure["name"]].append(f"book/{nb.name}:cell {i}")
    return names


def book_definitions() -> dict[str, list[str]]:
    """``{label: [where it is defined]}`` over the whole book (figure names included)."""
    defs: dict[str, list[str]] = defaultdict(list)
    for cells in book_pages().values():
        for where, kind, text in cells:
            if kind == "markdown":
                for label in defined_labels(text):
                    defs[label].append(where)
    for name, places in figure_names().items():
        defs[name] += places
    return defs


def companion_citations() -> list[tuple[str, str]]:
    out = []
    for path in sorted(COMPANION.glob("*.py")):
        out += source_citations(path.read_text(), f"companion/{path.name}")
    return out


def book_citations() -> list[tuple[str, str]]:
    """``eq-`` labels the chapters mention anywhere (roles, prose, code cells, plot legends)."""
    out = []
    for cells in book_pages().values():
        for where, _, text in cells:
            for m in EQ_CITATION.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                if not _is_definition(text, m.start()):
                    out.append((m.group(), f"{where}:line {line}"))
    return out


def _is_definition(text: str, pos: int) -> bool:
    """Whether the label at ``text[pos:]`` is the one a definition on its line defines."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start: len(text) if line_end < 0 else line_end]
    return any(line_start + m.start(1) == pos
               for pattern in (_SECTION_LABEL, _EQ_LABEL, _MATH_LABEL) for m in pattern.finditer(line))


def undefined(citations: list[tuple[str, str]], defined: set[str]) -> list[str]:
    return [f"  {label}  cited at {where}" for label, where in citations if label not in defined]


# ---------------------------------------------------------------------------------------------
# The book and the package.
# ---------------------------------------------------------------------------------------------


def test_every_label_a_companion_docstring_cites_is_defined_in_a_chapter():
    missing = undefined(companion_citations(), set(book_definitions()))
    assert not missing, ("equation labels that companion cites but no page of the book defines (add the "
                         "equation with its label to the chapter that derives it, or fix the name):\n"
                         + "\n".join(missing))


def test_every_label_the_book_mentions_is_defined():
    missing = undefined(book_citations(), set(book_definitions()))
    assert not missing, "equation labels a page mentions but no page defines:\n" + "\n".join(missing)


def test_every_eq_ref_numref_and_doc_role_resolves():
    defined = set(book_definitions())
    pages = book_pages()
    documents = {Path(name).stem for name in pages} | {p.stem for p in BOOK.glob("*.md")}
    broken = []
    for cells in pages.values():
        for where, kind, text in cells:
            if kind != "markdown":
                continue
            for role, target in role_targets(text):
                ok = target.lstrip("/") in documents if role == "doc" else target in defined
                if not ok:
                    broken.append(f"  {{{role}}}`{target}` at {where}")
    assert not broken, "roles whose target is not defined anywhere in the book:\n" + "\n".join(broken)


def test_no_label_is_defined_twice():
    twice = {label: places for label, places in book_definitions().items() if len(places) > 1}
    assert not twice, "labels defined more than once:\n" + "\n".join(
        f"  {label}: {', '.join(places)}" for label, places in sorted(twice.items()))


# ---------------------------------------------------------------------------------------------
# The readers bite: synthetic sources.
# ---------------------------------------------------------------------------------------------

_MODULE = '''
"""Module docstring citing eq-mod."""

def f(x):
    r"""Implements ``eq-one``; see also equation ``eq-two``.

    Example:
        >>> f("eq-not-a-citation")
        'eq-not-a-citation'
    """
    return x

LINKS = {"a": "eq-three", "b": "not eq-four"}
'''


def test_source_citations_read_docstrings_and_label_strings_not_doctests():
    labels = [label for label, _ in source_citations(_MODULE, "m.py")]
    assert sorted(labels) == ["eq-mod", "eq-one", "eq-three", "eq-two"]
    where = dict(source_citations(_MODULE, "m.py"))
    assert where["eq-one"].startswith("m.py:5") and where["eq-three"].startswith("m.py:13")


def test_an_undefined_citation_is_reported_and_a_defined_one_is_not():
    text = "(ch-x)=\n# X\n\n$$\na = b\n$$ (eq-one)\n\n```{math}\n:label: eq-two\nc\n```\n"
    defined = set(defined_labels(text))
    assert defined == {"ch-x", "eq-one", "eq-two"}
    report = undefined(source_citations(_MODULE, "m.py"), defined)
    assert [line.split()[0] for line in report] == ["eq-mod", "eq-three"]


def test_role_targets_handle_explicit_titles():
    text = "See {eq}`eq-a`, {ref}`§<ch-b>`, {ref}`the section <sec-c>`, {doc}`notation`, {cite}`x`."
    assert role_targets(text) == [("eq", "eq-a"), ("ref", "ch-b"), ("ref", "sec-c"), ("doc", "notation")]


def test_a_definition_line_is_not_counted_as_a_citation():
    text = "$$ x $$ (eq-def)\nas {eq}`eq-def` shows\n(eq-sec)=\n"
    mentions = [m.group() for m in EQ_CITATION.finditer(text) if not _is_definition(text, m.start())]
    assert mentions == ["eq-def"]


# --- issue 17, item 8: label names never reach the reader --------------------------------------

def reader_strings(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each string literal in a code cell that names an ``eq-`` label.

    A string literal of a chapter's code is what a reader sees: a printed line, a figure title, a
    legend. Comments are for the code's reader and may cite labels; so may strings that are only
    a label (``"eq-elbo"``: a link target that the page renders as the equation's number).
    """
    import io
    import tokenize

    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and EQ_CITATION.search(tok.string):
            body = tok.string.strip("rfbRFB").strip("'\"")
            if not EQ_CITATION.fullmatch(body):
                out.append((tok.start[0], tok.string))
    return out


def test_no_printed_line_or_figure_title_names_a_label():
    found = []
    for cells in book_pages().values():
        for where, kind, text in cells:
            if kind == "code":
                found += [f"{where}:{line}: {s[:80]}" for line, s in reader_strings(text)]
    assert not found, ("label names in strings a reader sees (say the equation in words, or print "
                       "no label):\n" + "\n".join(found))


def test_reader_strings_finds_a_label_in_a_print_and_not_in_a_comment():
    source = 'print(f"closed form (eq-kl-normal) = {x}")  # eq-kl-normal\nlink = "eq-elbo"\n'
    assert [line for line, _ in reader_strings(source)] == [1]
