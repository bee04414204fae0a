"""Check the book's PDF (``make pdf``): every chapter and every numbered equation is in it.

Usage: ``python tools/check_pdf.py book/_build/pdf/_build/latex``. Reads the PDF's text with
``pdftotext`` and checks, for every page of ``_toc.yml``:

- its title (the first ``# `` heading) is in the PDF;
- every labelled display equation of a notebook chapter appears as a numbered equation: the PDF
  holds at least as many distinct equation numbers ``(c.k)`` as the book has labelled equations,
  and, chapter by chapter, the numbers ``(c.1)`` ... ``(c.n)`` with ``n`` that chapter's count.

Exit status 1 with the list of what is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from toc_notebooks import BOOK, toc_files  # noqa: E402

EQ_LABEL = re.compile(r"\$\$\s*\((eq-[a-z0-9-]+)\)")


def page_text(name: str) -> tuple[str, str]:
    """``(title, markdown)`` of one page of the book."""
    nb, md = BOOK / f"{name}.ipynb", BOOK / f"{name}.md"
    if nb.exists():
        cells = json.loads(nb.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = md.read_text()
    title = re.search(r"^# (.+)$", text, re.M)
    return (title.group(1).strip() if title else name), text


def normalise(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("ﬁ", "fi").replace("ﬂ", "fl").split())


def main(latex_dir: str) -> int:
    pdfs = sorted(Path(latex_dir).glob("*.pdf"))
    if not pdfs:
        print(f"no PDF in {latex_dir}")
        return 1
    text = subprocess.run(["pdftotext", "-layout", str(pdfs[0]), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = normalise(text)
    missing = []
    eq_counts = []
    for name in toc_files(BOOK / "_toc.yml"):
        title, markdown = page_text(name)
        plain = re.sub(r"\$[^$]*\$", "", title).strip()
        if normalise(plain)[:40] not in flat:
            missing.append(f"chapter {name}: title {plain!r}")
        n = len(EQ_LABEL.findall(markdown))
        if n:
            eq_counts.append((name, n))
    numbers = set(re.findall(r"\((\d+)\.(\d+)\)", text))
    by_chapter: dict[int, set[int]] = {}
    for c, k in numbers:
        if int(c) >= 1:  # chapters count from 1; "(0.1)" is a printed tuple or a number, not an equation
            by_chapter.setdefault(int(c), set()).add(int(k))
    # Chapters with equations, in order, must match the PDF's equation-numbered chapters in order.
    numbered = sorted(c for c, ks in by_chapter.items() if 1 in ks)
    total = sum(n for _, n in eq_counts)
    found = 0
    for (name, n), c in zip(eq_counts, [c for c in numbered if len(by_chapter[c]) >= 2] or numbered,
                            strict=False):
        have = by_chapter.get(c, set())
        lacking = [k for k in range(1, n + 1) if k not in have]
        found += n - len(lacking)
        if lacking:
            missing.append(f"chapter {name} (PDF chapter {c}): equations {lacking[:10]} of {n} not found")
    print(f"{pdfs[0].name}: {len(text):,} characters of text; {len(eq_counts)} chapters with "
          f"{total} numbered equations, {found} found; {len(missing)} problems")
    for m in missing:
        print("  missing:", m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(BOOK / "_build" / "pdf" / "_build" / "latex")))
