"""Re-run safety: "Run All" twice in the same kernel prints the same numbers.

Each chapter's code cells are executed twice in one kernel (as a reader who presses
Run All again would), and the text printed by the second pass must equal the
first. Widget cells (tagged ``nbval-ignore-output``) are compared too, except for
widget model ids, which are new on every display.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from polling_client import PollingNotebookClient  # noqa: E402
from toc_notebooks import toc_notebooks  # noqa: E402

NOTEBOOKS = toc_notebooks()
# Timings vary between runs: seconds, milliseconds, and ratios of two timings ("46 times as long").
_VOLATILE = re.compile(r"(model_id['\"]?: ?['\"][0-9a-f]+|0x[0-9a-f]+| *\d+\.\d+ ?m?s\b|it/s"
                       r"|\d+ times as long)")


def _printed(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return _VOLATILE.sub("<volatile>", "".join(parts))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_twice_prints_the_same(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    twice = nbformat.v4.new_notebook(metadata=nb.metadata)
    twice.cells = [nbformat.from_dict(dict(c)) for c in code] + [nbformat.from_dict(dict(c)) for c in code]
    PollingNotebookClient(twice, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    first, second = twice.cells[: len(code)], twice.cells[len(code):]
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        assert _printed(a) == _printed(b), (
            f"{path.name}: code cell {i} printed something different on the second Run All:\n"
            f"--- first\n{_printed(a)[:800]}\n--- second\n{_printed(b)[:800]}")
