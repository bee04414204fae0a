"""A pytest plugin for nbval: every notebook is run twice in the same kernel ("Run All" again).

``make notebooks`` loads it (``-p nbval_twice --run-all-twice``). After a notebook's last cell,
each of its code cells runs once more in the same kernel, as a reader who presses Run All a
second time would, and the text that cell prints the second time must equal what it printed the
first time. A chapter whose cells depend on state left by a previous run (a generator consumed
twice, a list appended to, a model trained further) fails here, naming the cell.

Widget cells (``nbval-ignore-output``) are compared too, except for widget model ids, which are
new on every display. The first pass is nbval's own run of the notebook; the second costs one more
execution of each chapter, not two.
"""

from __future__ import annotations

import re

import pytest
from nbval.plugin import IPyNbCell, coalesce_streams

# Timings vary between runs: seconds, milliseconds, and ratios of two timings ("46 times as long").
VOLATILE = re.compile(r"(model_id['\"]?: ?['\"][0-9a-f]+|0x[0-9a-f]+| *\d+\.\d+ ?m?s\b|it/s"
                      r"|\d+ times as long)")


def printed(outputs) -> str:
    """The text a cell showed (streams and plain-text results), with :data:`VOLATILE` masked."""
    parts = []
    for out in coalesce_streams(list(outputs or [])):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return VOLATILE.sub("<volatile>", "".join(parts))


class SecondRunCell(IPyNbCell):
    """A code cell run again after the whole notebook, compared with its first run."""

    def __init__(self, *args, first: IPyNbCell, **kwargs):
        super().__init__(*args, **kwargs)
        self.first = first

    def runtest(self):
        if self.first.test_outputs is None:
            pytest.skip("the first run of this cell did not complete")
        super().runtest()
        before, after = printed(self.first.test_outputs), printed(self.test_outputs)
        if before != after:
            self.raise_cell_error(
                "printed something different on the second Run All",
                f"--- first run\n{before[:800]}\n--- second run\n{after[:800]}")


def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--run-all-twice", action="store_true",
        help="after each notebook, run its code cells again in the same kernel and compare what they print")


def pytest_collection_modifyitems(session, config, items):
    if not config.getoption("run_all_twice"):
        return
    out: list = []
    i = 0
    while i < len(items):
        item = items[i]
        if not isinstance(item, IPyNbCell):
            out.append(item)
            i += 1
            continue
        cells = []
        while i < len(items) and isinstance(items[i], IPyNbCell) and items[i].parent is item.parent:
            cells.append(items[i])
            i += 1
        out += cells
        out += [SecondRunCell.from_parent(c.parent, name=f"{c.name} (Run All again)", cell_num=c.cell_num,
                                          cell=c.cell, options=c.options, first=c) for c in cells]
    items[:] = out
