"""Code comments cite equations by their numbers on the page, not by their label names.

The notebooks and the package cite an equation in a comment by its label, ``# eq-elbo``: a
label stays right when equations are added, and ``grep`` finds every use. A reader of the web
page sees numbers everywhere else ("(3.2)"), and a label name means nothing to them (issue 17,
item 8). After Sphinx has numbered the equations, this extension rewrites each label in the
*comments* of every code block to the equation's number as ``{eq}`` shows it: ``# eq-elbo``
becomes ``# (3.2)``, ``(eq-elbo)`` becomes ``(3.2)``. Code outside comments is left alone, and
so is the notebook: in JupyterLab the comment still names the label, which the book's search
finds. A label that is not an equation of the book is left as written and reported as a warning.

``tests/site/test_site.py`` checks that no label name is left in any rendered text, code included.
"""

from __future__ import annotations

import io
import re
import tokenize

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from docutils.nodes import make_id

logger = logging.getLogger(__name__)

LABEL = re.compile(r"(\()?\b(eq-[a-z0-9]+(?:-[a-z0-9]+)*)\b(\))?")


def equation_number(env, label: str) -> str | None:
    """``"(3.2)"`` for ``label``, numbered as the ``{eq}`` role numbers it; ``None`` if unknown."""
    found = env.get_domain("math").equations.get(label)
    if not found:
        return None
    docname, number = found
    if env.config.math_numfig and env.config.numfig:
        numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(
            make_id(f"equation-{label}"), ())
        if not numbers:
            return None
        text = ".".join(map(str, numbers))
        text = env.config.math_numsep.join(text.rsplit(".", 1))
    else:
        text = str(number)
    return (env.config.math_eqref_format or "({number})").format(number=text)


def _comment_spans(code: str) -> list[tuple[int, int]]:
    """Character spans of the comments in Python ``code`` (each ``#`` to the end of its line)."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        return [(starts[t.start[0] - 1] + t.start[1], starts[t.end[0] - 1] + t.end[1])
                for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # not parseable as a whole (a fragment): a "#" outside quotes on a line starts a comment
        spans = []
        for i, line in enumerate(code.splitlines(keepends=True)):
            m = re.match(r"""^(?:[^#"']|"[^"\n]*"|'[^'\n]*')*(#.*)$""", line.rstrip("\n"))
            if m:
                spans.append((starts[i] + m.start(1), starts[i] + m.end(1)))
        return spans


def number_labels_in_comments(code: str, number_of) -> tuple[str, list[str]]:
    """``code`` with every equation label in its comments replaced by ``number_of(label)``.

    Returns the new code and the labels ``number_of`` did not know (left as written).
    """
    unknown: list[str] = []

    def swap(m: re.Match) -> str:
        number = number_of(m.group(2))
        if number is None:
            unknown.append(m.group(2))
            return m.group(0)
        opened, closed = m.group(1) or "", m.group(3) or ""
        if opened and closed:   # "(eq-x)" -> "(3.2)", not "((3.2))"
            return number
        return opened + number + closed

    pieces, last = [], 0
    for start, end in _comment_spans(code):
        pieces += [code[last:start], LABEL.sub(swap, code[start:end])]
        last = end
    pieces.append(code[last:])
    return "".join(pieces), unknown


def _number_code_comments(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    env = app.env
    for block in list(doctree.findall(nodes.literal_block)):
        if block.get("language", "python") not in ("python", "ipython3", "ipython", "default", "none"):
            continue
        text = block.astext()
        if "eq-" not in text or block.rawsource != text:
            continue
        new, unknown = number_labels_in_comments(text, lambda label: equation_number(env, label))
        for label in unknown:
            logger.warning("equation_comments: %r in a code comment is not an equation of the book",
                           label, location=block)
        if new != text:
            replacement = nodes.literal_block(new, new, **block.attributes)
            block.replace_self(replacement)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", _number_code_comments)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
