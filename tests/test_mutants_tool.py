"""The mutation tool (tools/mutants.py) on a tiny synthetic package and chapter.

It must generate the mutants it promises (and none in argument checks), apply them to a copy,
run the chapter against the copy in a fresh kernel, and report a caught mutant with its cell and
a surviving one as such, with equivalent-mutant candidates recorded for the maintainer.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import mutants as M  # noqa: E402

CORE = '''\
"""A toy module for the mutation tool's test."""


def affine(x):
    """``2 x + 1``, equation ``eq-toy-affine``."""
    return 2 * x + 1


def magnitude(x):
    """``-|x|``, equation ``eq-toy-neg``.

    Example:
        >>> magnitude(2)  # eq-not-cited (doctest text is not a citation)
        -2
    """
    return -abs(x)


def checked(x):
    """The identity on ``x >= -1``, equation ``eq-toy-affine`` again."""
    if x < -1:
        raise ValueError(f"x: expected >= -1, got {x - 1}")
    return x


def helper(x):
    """No label: not a target."""
    return x + 1


def unused(x):
    """Equation ``eq-toy-neg``, but the chapter never calls it."""
    return -x
'''


@pytest.fixture
def toy(tmp_path):
    pkg = tmp_path / "toymath"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""Toy package."""\n')
    (pkg / "core.py").write_text(CORE)
    book = tmp_path / "book"
    book.mkdir()
    (book / "_toc.yml").write_text("format: jb-book\nroot: toy\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("(ch-toy)=\n# Toy\n\n$$ y = 2x + 1 $$ (eq-toy-affine)\n\n"
                                      "$$ y = -|x| $$ (eq-toy-neg)\n"),
        nbformat.v4.new_code_cell("from toymath.core import affine, magnitude"),
        nbformat.v4.new_code_cell("print(affine(3))\nassert affine(3) == 7, 'affine(3) is not 7'"),
        nbformat.v4.new_code_cell("print(magnitude(0.0) == 0)\nassert magnitude(0.0) == 0  # too weak"),
    ]
    nbformat.write(nb, book / "toy.ipynb")
    page = tmp_path / "appendix.md"
    page.write_text(f"# Mutants\n\n{M.BEGIN}\n{M.END}\n")
    return tmp_path


def _by_function(mutants):
    out = {}
    for m in mutants:
        out.setdefault(m.target.qualname, []).append(m.op)
    return out


def test_targets_and_mutants_are_found_and_argument_checks_are_left_alone(toy):
    targets = M.discover(toy / "toymath")
    assert [(t.qualname, t.labels) for t in targets] == [
        ("affine", ("eq-toy-affine",)), ("magnitude", ("eq-toy-neg",)), ("checked", ("eq-toy-affine",)),
        ("unused", ("eq-toy-neg",))]
    ops = _by_function(M.all_mutants(toy / "toymath"))
    assert sorted(ops["affine"]) == ["double-const", "double-return", "sign"]
    assert sorted(ops["magnitude"]) == ["double-return", "unary-minus"]
    assert ops["checked"] == ["double-return"]  # nothing in the `if ...: raise` nor its f-string


def test_each_mutant_changes_only_its_expression(toy):
    source = (toy / "toymath" / "core.py").read_text()
    results = {}
    for m in M.all_mutants(toy / "toymath"):
        mutated = m.apply(source)
        assert mutated != source and mutated.count("\n") == source.count("\n")
        scope: dict = {}
        exec(compile(mutated, "core.py", "exec"), scope)  # noqa: S102 - our own synthetic module
        results[(m.target.qualname, m.op)] = scope[m.target.qualname](3)
    assert results[("affine", "sign")] == 5
    assert results[("affine", "double-const")] == 13
    assert results[("affine", "double-return")] == 14
    assert results[("magnitude", "unary-minus")] == 3
    assert results[("checked", "double-return")] == 6


def test_index_shift_sqrt_and_exp_log_mutants():
    source = textwrap.dedent('''\
        import math


        def f(a, t, x):
            """Equation ``eq-f``."""
            return a[t] * math.sqrt(x) + math.exp(x) + (x ** 0.5) + g(a, t)
        ''')
    target = M.Target("m", "f", ("eq-f",), "0")
    mutants = M.mutants_of(target, source)
    found = {(m.op, m.description) for m in mutants}
    assert ("index+1", "`t` -> `(t + 1)`") in found and ("index-1", "`t` -> `(t - 1)`") in found
    assert ("drop-sqrt", "`math.sqrt(x)` -> `(x)`") in found
    assert ("drop-sqrt", "`x ** 0.5` -> `(x)`") in found
    assert ("exp-log", "`math.exp` -> `math.log`") in found
    assert sum(m.op.startswith("index") for m in mutants) == 4  # a[t] and the step passed to g


def test_a_mutant_is_applied_run_and_caught_or_survives(toy):
    results, equivalent = toy / "results.json", toy / "equivalent.json"
    argv = ["--package", str(toy / "toymath"), "--book", str(toy / "book"), "--results", str(results),
            "--equivalent", str(equivalent), "--page", str(toy / "appendix.md"),
            "--only", r"core\.affine@.* sign$|core\.(?:magnitude|unused)@.* unary-minus$"]
    assert M.main(argv) == 0
    data = json.loads(results.read_text())
    runs = {entry["function"] + " " + entry["op"]: entry["runs"]["toy"] for entry in data["mutants"].values()}
    caught = runs["core.affine sign"]
    assert caught["status"] == "caught" and caught["cell"] == 2
    assert caught["first_line"] == "print(affine(3))"
    assert "AssertionError: affine(3) is not 7" in caught["error"]
    assert caught["line"] == "assert affine(3) == 7, 'affine(3) is not 7'"
    survived = runs["core.magnitude unary-minus"]
    assert survived["status"] == "survived" and survived["reached"] and survived["same_outputs"]
    never = runs["core.unused unary-minus"]
    assert never["status"] == "survived" and not never["reached"] and not never["same_outputs"]
    assert data["baselines"]["toy"]["seconds"] > 0

    notes = json.loads(equivalent.read_text())["mutants"]
    assert [n["reason"] for n in notes] == [""] and "magnitude" in notes[0]["id"]
    page = (toy / "appendix.md").read_text()
    assert "cell 2: `print(affine(3))`" in page and "same printed outputs (equivalent?)" in page
    assert "**SURVIVED**: the chapter never executes this line" in page

    notes[0]["reason"] = "abs(0) = 0: the check looks at zero only"
    equivalent.write_text(json.dumps({"mutants": notes}))
    assert M.main([*argv, "--table"]) == 0
    assert "equivalent: abs(0) = 0" in (toy / "appendix.md").read_text()


def test_ids_and_fingerprints_ignore_docstrings_but_not_code(toy):
    core = toy / "toymath" / "core.py"
    before = {m.id: m.target.sha for m in M.all_mutants(toy / "toymath")}
    core.write_text(CORE.replace('"""``2 x + 1``, equation ``eq-toy-affine``."""',
                                 '"""``2 x + 1``,\n\n    a longer docstring, equation ``eq-toy-affine``."""'))
    assert {m.id: m.target.sha for m in M.all_mutants(toy / "toymath")} == before
    core.write_text(CORE.replace("return 2 * x + 1", "return 2 * x + 2"))
    after = {m.id: m.target.sha for m in M.all_mutants(toy / "toymath")}
    assert after.keys() == before.keys()
    assert {k for k in after if after[k] != before[k]} == {k for k in after if k.startswith("core.affine@")}


def test_results_of_a_changed_function_are_dropped(toy):
    results = toy / "results.json"
    m = next(m for m in M.all_mutants(toy / "toymath") if m.target.qualname == "affine")
    stale = {**{"id": m.id, "runs": {"toy": {"status": "caught", "cell": 2}}}, "sha": "not-the-sha"}
    results.write_text(json.dumps({"mutants": {m.id: stale}, "baselines": {}}))
    argv = ["--package", str(toy / "toymath"), "--book", str(toy / "book"), "--results", str(results),
            "--equivalent", str(toy / "eq.json"), "--page", str(toy / "appendix.md"), "--table"]
    assert M.main(argv) == 0
    table = (toy / "appendix.md").read_text().split("|---|---|---|---|\n")[1]
    assert table.strip() == M.END  # no row: the stale result is gone
    assert json.loads(results.read_text())["mutants"][m.id]["sha"] == "not-the-sha"  # --table writes no JSON


def test_a_survivor_is_run_again_in_the_chapters_it_has_not_met():
    """A mutant that survived one chapter is unfinished until every chapter it is planned for ran it."""
    caught = {"runs": {"a": {"status": "caught"}}}
    survived_a = {"runs": {"a": {"status": "survived"}}}
    assert M._unfinished(None, ["a"], [])
    assert not M._unfinished(caught, ["a", "b"], [])                  # caught once is enough
    assert M._unfinished(survived_a, ["a", "b"], [])                  # b has not run it
    assert not M._unfinished(survived_a, ["a", "b"], ["a"])           # only a was asked for
    assert not M._unfinished(survived_a, ["a"], [])
    assert M.status_of({"id": "m", **survived_a}, ["a", "b"], {}) == "not run"
