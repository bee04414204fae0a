"""The quoted kernels of companion functions (book/_ext/kernel_source.py, issue 17 item 2)."""

import ast
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from kernel_source import kernel_lines  # noqa: E402


def kernel(module: str, qualname: str) -> str:
    lines, _ = kernel_lines((ROOT / "companion" / f"{module}.py").read_text(), qualname)
    return "\n".join(lines)


def test_docstring_and_checks_go_and_the_mathematics_stays():
    k = kernel("parameterisations", "eps_to_score")
    assert '"""' not in k and "_check_" not in k and "check_in_range" not in k
    assert "return -eps / _gather((1.0 - ab).sqrt(), t, eps)" in k


def test_a_loop_of_checks_goes_with_its_checks():
    k = kernel("f_divergences", "f_divergence_lower_bound")
    assert "for name, fn in" not in k and "raise" not in k and "np.trapezoid" in k


def test_every_kernel_of_the_package_parses():
    for path in sorted((ROOT / "companion").glob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                lines, _ = kernel_lines(source, node.name)
                ast.parse(textwrap.dedent("\n".join(lines)))
