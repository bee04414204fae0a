"""No hand-typed result in the prose (issue #15, section 1).

Every number the book's prose states as a *result* is glued from the cell that computes it
(MyST-NB ``{glue:text}`` roles). This test scans the Markdown of every page in ``_toc.yml``
(the Markdown cells of the notebooks and the ``.md`` pages) for numeric literals written by
hand, outside what is not prose:

- maths (``$...$``, ``$$...$$ (label)``, ``{math}`` blocks, amsmath environments);
- code (inline ``code``, fenced blocks, code-like directives such as ``{literalinclude}``);
- the targets of MyST roles (``{eq}``, ``{ref}``, ``{cite}``, ``{glue:...}``, ``{doc}``...);
- link URLs, labels ``(label)=``, HTML comments and tags, front matter, directive options,
  the numbers of numbered-list items (Markdown syntax, not text);
- regions a tool writes from its own results (:data:`GENERATED_REGIONS`).

A literal that is left must be glued, or match an entry of the short :data:`ALLOW` list of
settings and non-results. Each entry matches *by context* (a regex over the surrounding words
of one file, whose group ``n`` is the allowed literal), never by the bare number, so a new
result that happens to equal an allowed number is still caught.

Words can state measured facts too ("roughly", "nearly", "twice as"...): a sentence with one
of the :data:`PHRASES` must also contain a ``{glue:...}`` role (the value the words describe,
asserted by its cell) or be allow-listed with a reason.

The failure message is the to-do list: ``file:cell:line``, the literal and its context.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from dataclasses import dataclass

import pytest
from toc_notebooks import BOOK, toc_files

# ---------------------------------------------------------------------------------------------
# The allow-list: settings the code uses and numbers that are not results. Keep it short; every
# entry says why. ``files`` is a glob over the page's file name; ``pattern`` is a regex over the
# cell's (or page's) source, with the allowed literal or phrase in the named group ``n`` (and
# ``n2``, ``n3``... where one context holds several). A match elsewhere allows nothing. A space in a
# pattern matches any white space, line breaks included.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allow:
    files: str
    pattern: str
    reason: str


ALLOW: tuple[Allow, ...] = (
    # --- Not numbers of the text, on every page ----------------------------------------------------
    Allow("*", r"\((?P<n>[1-9])\)\s",
          "enumerates the parts of a check or an argument, like an equation tag"),
    Allow("*", r"\b(?P<n>[1-3])-D\b",
          "the dimension of an example (1-D, 2-D): a design choice, not a result"),
    Allow("*", r"\b[Ee]xercise (?P<n>\d+)\b", "a cross-reference to an exercise by its number"),
    Allow("*", r"\bseed (?P<n>\d+)\b", "the seed the cell sets (companion.set_seed), a setting"),
    Allow("*", r"\bWasserstein-(?P<n>1)\b|\b(?P<n2>1)-Lipschitz", "part of a name (Wasserstein-1)"),
    Allow("*", r"\b(?P<n>0)-based", "the indexing convention of Python arrays"),
    Allow("*", r"budget per chapter,\s+(?P<n>90)\s+seconds", "the book's time budget, a requirement"),
    # --- intro.md: the environment variables' documented range and default --------------------------
    Allow("intro.md", r"an integer from (?P<n>1 to 100)\)", "the range companion.utils.scaled accepts"),
    Allow("intro.md", r"(?:scale above|even at scale) (?P<n>1)\b", "the default scale, a setting"),
    Allow("intro.md", r"always trains for (?P<n>1000) steps", "the GAN dynamics experiment's fixed budget"),
    # --- toolkit -----------------------------------------------------------------------------------
    Allow("toolkit.ipynb", r"\$1/\\sqrt n\$: a (?P<n>hundred times more) samples buy one more digit",
          "the 1/sqrt(n) rate restated, not a measurement"),
    # --- vae ---------------------------------------------------------------------------------------
    Allow("vae.ipynb", r"The (?P<n>1797) digits of scikit-learn \((?P<n2>8)x8 pixels",
          "the size and shape of scikit-learn's digits data set, a fact about the data"),
    Allow("vae.ipynb", r"a standard deviation of (?P<n>0\.1),",
          "the decoder's noise setting, the square root of its sigma^2 = 0.01"),
    Allow("vae.ipynb", r"trained for at most (?P<n>1500) steps", "the largest training budget, a setting"),
    # --- gan ---------------------------------------------------------------------------------------
    Allow("gan.ipynb", r"label data (?P<n>1), fakes (?P<n2>0)|labels (?P<n3>1) for data and (?P<n4>0) for",
          "the labels of the logistic-regression reading, a convention"),
    Allow("gan.ipynb", r"circle of radius (?P<n>2)\b", "the ring's radius (companion.gan.ring_of_gaussians)"),
    Allow("gan.ipynb", r"at least (?P<n>20) high-quality samples \(of (?P<n2>1000)\)|within radius (?P<n3>3)",
          "the definition of a covered mode and of a high-quality sample, settings of the metric"),
    Allow("gan.ipynb", r"for the same (?P<n>1000) steps|puts all (?P<n2>1000) of its samples",
          "the training budget / the exercise's sample count, settings"),
    # --- flows -------------------------------------------------------------------------------------
    Allow("flows.ipynb", r"the chapter-(?P<n>0) function", "the toolkit chapter's number"),
    Allow("flows.ipynb", r"\(hidden width (?P<n>32)\) to two moons for (?P<n2>300) steps|same (?P<n3>300) st",
          "the flow's width and training budget, settings"),
    Allow("flows.ipynb", r"(?:the kept|the other|leaves) (?P<n>half)\b|\((?P<n2>half) the summed absolute",
          "the coupling's split and the definition of total variation, not measurements"),
    Allow("flows.ipynb", r"\((?P<n>approximately)\) a parallelepiped",
          "a first-order argument, not a measurement"),
    # --- diffusion: T = 100 and the samplers' step counts are settings -------------------------------
    Allow("diffusion.ipynb", r"three hidden layers of (?P<n>64) units", "the network's width, a setting"),
    Allow("diffusion.ipynb", r"on all (?P<n>100) steps|DDIM with (?P<n2>10), (?P<n3>20) and (?P<n4>50) steps "
          r"next to DDPM with (?P<n5>100)", "numbers of sampling steps the cell uses, settings"),
    Allow("diffusion.ipynb", r"With the network, (?P<n>50) deterministic DDIM steps are not measurably "
          r"worse than (?P<n2>100) ancestral|falls from (?P<n3>10) to (?P<n4>20) to (?P<n5>50) steps|"
          r"with the network, (?P<n6>10) DDIM steps|and (?P<n7>50) are not|with (?P<n8>10) steps its first",
          "the step counts compared, settings"),
    Allow("diffusion.ipynb", r"with (?P<n>5) or (?P<n2>10) steps\? \(At (?P<n3>5) steps|with (?P<n4>5) steps "
          r"their",
          "the exercise's step counts, settings"),
    Allow("diffusion.ipynb", r"radius (?P<n>2), component standard deviation (?P<n2>0\.25)|standard "
          r"deviation (?P<n3>0\.25) for data", "the ring data's settings"),
    Allow("diffusion.ipynb", r"\((?P<n>30)-digit arithmetic|product of (?P<n2>100) float64 factors",
          "the reference table's precision and T = 100, settings"),
    Allow("diffusion.ipynb", r"for (?P<n>5) to (?P<n2>100) network evaluations|at (?P<n3>100) steps this is "
          r"DDPM|at (?P<n4>5) or (?P<n5>10) steps", "the widget's / the exercise's step counts, settings"),
    # --- flow_matching -----------------------------------------------------------------------------
    Allow("flow_matching.ipynb", r"RK4 with (?P<n>512) steps|with (?P<n2>100) RK4 steps",
          "the reference solvers' step counts, settings"),
    # --- guidance ----------------------------------------------------------------------------------
    Allow("guidance.ipynb", r"over all (?P<n>50) steps|DDIM, (?P<n2>25) steps|drawing (?P<n3>150) samples",
          "sampler steps and sample counts the cells use, settings"),
    Allow("guidance.ipynb", r"holds (?P<n>99\.9%) of the data's mass|the (?P<n2>0\.001) that defines|thirty "
          r"times the (?P<n3>0\.001) of real data", "the support level of the metric, a setting"),
    Allow("guidance.ipynb", r"\bclass (?P<n>\d)\b", "a class's index, a name"),
    # --- capstone ----------------------------------------------------------------------------------
    Allow("capstone.ipynb", r"circle of radius (?P<n>2) with standard deviation (?P<n2>0\.1)",
          "the ring data's settings (companion.gan.ring_of_gaussians)"),
    Allow("capstone.ipynb", r"at least (?P<n>20) such samples out of (?P<n2>1000)|draw (?P<n3>10,000) sam",
          "the definition of a covered mode and the timed sample count, settings"),
    Allow("capstone.ipynb", r"more steps than (?P<n>1000) to converge|(?P<n2>1000) steps had not converged",
          "the shared training budget, a setting"),
    Allow("capstone.ipynb", r"bandwidth \$h = 0\.2\$, (?P<n>about twice) a mode's width",
          "the kernel bandwidth is a setting, twice the modes' 0.1"),
    # --- glossary, appendix ------------------------------------------------------------------------
    Allow("glossary.md", r"transforms (?P<n>half) of the coordinates|the other (?P<n2>half)",
          "the coupling's split"),
    Allow("appendix_benchmarks.md", r"must agree within (?P<n>1e-6) in float64",
          "the benchmarks' tolerance, a setting of benchmarks/run.py"),
)

#: Regions written by a tool from computed results (not typed): the page, and the comment markers
#: that open and close the region. The tool's own tests check what it writes.
GENERATED_REGIONS: dict[str, tuple[str, str]] = {
    "appendix_mutants.md": ("<!-- BEGIN GENERATED: tools/mutants.py", "<!-- END GENERATED -->"),
}

#: Words that state a measured fact; each must sit in a sentence with a ``{glue:...}`` role.
#: "about" counts only before a quantity ("about a third", "about 2", "about the same"), not in
#: "what the chapter is about"; "most" only as a share ("most of", "most samples").
_QUANTITY_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                   r"forty|fifty|hundred|thousand|million|half|twice|thrice|double|a few|a dozen|"
                   r"an? (?:third|quarter|fifth|tenth|half|factor|hundred|thousand|million|minute|"
                   r"second|hour|nat|bit|percent|per)|the same|as (?:\w+ )?as|k\b|n\b")
PHRASES: dict[str, str] = {
    "a handful": r"\ba handful\b",
    "roughly": r"\broughly\b",
    "about": r"\babout(?=\s+(?:\x01|[\d$]|(?:" + _QUANTITY_WORDS + r")\b))",
    "approximately": r"\bapproximately\b",
    "twice as": r"\btwice(?= (?:as|the|a|an|that|its|their)\b)",  # not "run the step twice"
    "N times as/more/less": r"\b(?:three|four|five|ten|hundred|thousand|\d+) times (?:as|more|less|fewer|"
                            r"faster|slower|larger|smaller|higher|lower)\b",
    "half": r"\bhalf\b",
    "most": r"\bmost(?= of\b| (?:samples|points|runs|seeds|steps|modes|of|mass)\b)",
    "nearly": r"\bnearly\b",
    "almost": r"\balmost\b",
}

# ---------------------------------------------------------------------------------------------
# The scanner.
# ---------------------------------------------------------------------------------------------

GLUE = "\x01"  # left in the masked text where a {glue:...} role was, so a sentence "contains glue"

#: Directives whose body is code, maths or generated content: masked whole. Every other
#: directive (admonition, note, glossary, dropdown...) has prose in its body, which is scanned.
CODE_DIRECTIVES = {
    "code", "code-block", "code-cell", "sourcecode", "literalinclude", "math", "bibliography",
    "include", "tableofcontents", "nb-exec-table", "glue:figure", "glue:math", "glue:any", "glue:md",
    "glue:text", "raw", "eval-rst", "mermaid", "image", "csv-table", "embed", "toctree", "autofunction",
    "automodule", "autoclass",
}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})\s*"
                    r"(?:\{(?P<name>[^}\s]+)\})?(?P<rest>.*)$")
_OPTION = re.compile(r"^[ \t]*:[\w-]+:.*$")
_ROLE = re.compile(r"\{(?P<name>[\w:.+-]+)\}(?P<ticks>`+)(?P<body>.*?)(?P=ticks)", re.DOTALL)
_CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<body>.+?)(?<!`)(?P=ticks)(?!`)", re.DOTALL)
_DISPLAY_MATH = re.compile(r"(?<!\\)\$\$.+?(?<!\\)\$\$(?:[ \t]*\([\w:-]+\))?", re.DOTALL)
_AMS_ENV = re.compile(r"\\begin\{(?P<env>[A-Za-z]+\*?)\}.*?\\end\{(?P=env)\}", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])(?:\\.|[^$\\])+?(?<![\s\\])\$(?!\d)", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_LABEL_LINE = re.compile(r"^[ \t]*\([\w:.-]+\)=[ \t]*$", re.MULTILINE)
_LINK_TARGET = re.compile(r"(?<=\])\((?:<[^>]*>|[^()\s]*(?:\([^()\s]*\))?[^()\s]*)(?:\s+\"[^\"]*\")?\)")
_LINK_DEF = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.MULTILINE)
_URL = re.compile(r"<?\bhttps?://[^\s>)]+>?")
_SUBSTITUTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_FOOTNOTE = re.compile(r"\[\^[^\]]+\]")
_LIST_NUMBER = re.compile(r"^[ \t]*(?:>[ \t]*)*(\d+)[.)](?=[ \t])", re.MULTILINE)
_HEADING_ID = re.compile(r"\{#[\w:-]+\}")

#: A numeric literal: 12, 1,000, 10_000, 0.25, -3, 1e-3, 2 × 10⁻³, 10⁻³, 50 %, ×2, 2x. The
#: look-behind keeps digits inside words (float64, x0, L2) and the tail of a number out.
NUMBER = re.compile(
    r"(?:×[ \t]?)?"
    r"(?<![\w.,])"
    r"[-−+±]?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+(?:_\d+)*)"
    r"(?:\.\d+)?"
    r"(?:[eE][-−+]?\d+)?"
    r"(?:[ \t]?[×x·][ \t]?10)?"
    r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]*"
    r"(?:[ \t]?%|[ \t]?×|x(?![A-Za-z\d]))?"
)


def _blank(chars: list[str], start: int, end: int, glue: bool = False) -> None:
    """Replace ``chars[start:end]`` by spaces (newlines kept, so line numbers stay right)."""
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "
    if glue and end > start:
        chars[start] = GLUE


def _mask_regex(chars: list[str], pattern: re.Pattern, group: int | str = 0) -> None:
    text = "".join(chars)
    for m in pattern.finditer(text):
        _blank(chars, m.start(group), m.end(group))


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence``: the same character, at least as many."""
    bare = line.strip()
    return bool(bare) and set(bare) == {fence[0]} and len(bare) >= len(fence)


def _mask_blocks(chars: list[str]) -> None:
    """Front matter, fenced code and directive blocks, directive options (line by line)."""
    text = "".join(chars)
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def blank_line(i: int, start_col: int = 0) -> None:
        _blank(chars, offsets[i] + start_col, offsets[i] + len(lines[i]))

    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        for j in range(1, len(lines)):
            if lines[j].strip() == "---":
                for k in range(j + 1):
                    blank_line(k)
                i = j + 1
                break
    stack: list[tuple[str, bool]] = []  # (closing fence, is prose)
    while i < len(lines):
        line = lines[i]
        if stack and not stack[-1][1]:  # inside code: everything blanked up to the closing fence
            blank_line(i)
            if _closes(line, stack[-1][0]):
                stack.pop()
            i += 1
            continue
        m = _FENCE.match(line)
        if stack and _closes(line, stack[-1][0]):
            blank_line(i)  # closes a prose directive
            stack.pop()
            i += 1
            continue
        if m:
            name = m.group("name")
            prose = bool(name) and name not in CODE_DIRECTIVES
            stack.append((m.group("fence"), prose))
            if prose and name in {"admonition", "dropdown", "topic", "sidebar", "card", "tab-item"}:
                # the argument is a title (prose): blank only the fence and the directive name
                blank_line(i)
                rest = m.group("rest")
                start = len(line) - len(rest)
                chars[offsets[i] + start: offsets[i] + len(line)] = list(rest)
            else:
                blank_line(i)
            i += 1
            if prose:
                while i < len(lines) and _OPTION.match(lines[i]):
                    blank_line(i)
                    i += 1
            continue
        i += 1


def mask_markdown(text: str, generated: tuple[str, str] | None = None) -> str:
    """``text`` with everything that is not prose replaced by spaces (same length, same lines).

    Where a ``{glue:...}`` role was, the masked text has :data:`GLUE` at the role's first character.
    """
    chars = list(text)
    _mask_blocks(chars)
    _mask_regex(chars, _HTML_COMMENT)
    if generated is not None:
        begin, end = generated
        joined = "".join(chars)
        a = text.find(begin)
        if a >= 0:
            b = text.find(end, a)
            _blank(chars, a, len(text) if b < 0 else b + len(end))
        del joined
    joined = "".join(chars)
    for m in _ROLE.finditer(joined):
        _blank(chars, m.start(), m.end(), glue=m.group("name").startswith("glue"))
    _mask_regex(chars, _CODE_SPAN)
    for pattern in (_DISPLAY_MATH, _AMS_ENV, _INLINE_MATH, _LABEL_LINE, _LINK_DEF, _LINK_TARGET, _URL,
                    _HTML_TAG, _SUBSTITUTION, _FOOTNOTE, _HEADING_ID):
        _mask_regex(chars, pattern)
    _mask_regex(chars, _LIST_NUMBER, group=1)
    return "".join(chars)


@dataclass(frozen=True)
class Finding:
    where: str  # "book/x.ipynb:cell 5:line 3" or "book/x.md:line 3"
    kind: str  # "number" or "phrase"
    literal: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}: {self.literal!r}  … {self.context} …"


_ABBREVIATIONS = re.compile(r"(?:\be\.g|\bi\.e|\bet al|\bcf|\bvs|\bFig|\bEq|\bSec|\bapprox)\.$")


def _sentence_bounds(masked: str, pos: int) -> tuple[int, int]:
    """The sentence around ``pos``: bounded by . ! ? (not after an abbreviation), blank lines,
    list items, table rows and headings."""
    boundary = re.compile(r"[.!?](?=\s)|\n[ \t]*\n|\n(?=[ \t]*(?:[-*+|#]|\d+[.)])[ \t])")
    start, end = 0, len(masked)
    for m in boundary.finditer(masked):
        after_abbreviation = _ABBREVIATIONS.search(masked[max(0, m.start() - 8): m.end()])
        if m.group().startswith((".", "!", "?")) and after_abbreviation:
            continue
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.end()
            break
    return start, end


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    left = text[max(0, start - width): start]
    right = text[end: end + width]
    return " ".join(f"{left}[{text[start:end]}]{right}".split())


@functools.cache
def _compiled(pattern: str) -> re.Pattern:
    """An allow pattern, where a space matches any run of white space (prose wraps at any word)."""
    return re.compile(pattern.replace(" ", r"\s+"))


def _allowed(source: str, start: int, end: int, allows: list[Allow]) -> bool:
    """Whether ``source[start:end]`` lies inside a group ``n``, ``n2``, ``n3``... of an entry's match."""
    for entry in allows:
        for m in _compiled(entry.pattern).finditer(source):
            for group in m.re.groupindex:
                a, b = m.span(group)
                if re.fullmatch(r"n\d*", group) and a <= start and end <= b:
                    return True
    return False


def scan_source(source: str, where: str, allows: list[Allow] = (),
                generated: tuple[str, str] | None = None) -> list[Finding]:
    """Hand-typed numbers and unbound measured-fact phrases in one Markdown ``source``."""
    masked = mask_markdown(source, generated)
    line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]

    def line_of(pos: int) -> int:
        lo = 0
        for k, s in enumerate(line_starts):
            if s <= pos:
                lo = k
        return lo + 1

    found: list[tuple[int, Finding]] = []
    for m in NUMBER.finditer(masked):
        if not any(ch.isdigit() for ch in m.group()):
            continue
        start, end = m.start(), m.end()
        if _allowed(source, start, end, allows):
            continue
        found.append((start, Finding(f"{where}:line {line_of(start)}", "number", m.group().strip(),
                                     _context(source, start, end))))
    for name, pattern in PHRASES.items():
        for m in re.finditer(pattern, masked, flags=re.IGNORECASE):
            a, b = _sentence_bounds(masked, m.start())
            if GLUE in masked[a:b] or _allowed(source, m.start(), m.end(), allows):
                continue
            found.append((m.start(), Finding(f"{where}:line {line_of(m.start())}", "phrase", name,
                                             _context(source, m.start(), m.end()))))
    return [f for _, f in sorted(found, key=lambda pair: pair[0])]


def page_sources(name: str) -> list[tuple[str, str]]:
    """``(where, markdown)`` for each Markdown cell of ``book/<name>.ipynb``, or the ``.md`` page."""
    nb_path, md_path = BOOK / f"{name}.ipynb", BOOK / f"{name}.md"
    if nb_path.exists():
        nb = json.loads(nb_path.read_text())
        out = []
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "markdown":
                src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                out.append((f"book/{nb_path.name}:cell {index}", src))
        return out
    if md_path.exists():
        return [(f"book/{md_path.name}", md_path.read_text())]
    return []


def scan_page(name: str, allows: tuple[Allow, ...] = ALLOW) -> list[Finding]:
    """Every finding on one page of the book (``name`` without suffix)."""
    file_name = f"{name}.ipynb" if (BOOK / f"{name}.ipynb").exists() else f"{name}.md"
    mine = [a for a in allows if fnmatch.fnmatch(file_name, a.files)]
    findings = []
    for where, src in page_sources(name):
        findings += scan_source(src, where, mine, GENERATED_REGIONS.get(file_name))
    return findings


def _todo(findings: list[Finding], kind: str, page: str) -> str:
    mine = [f for f in findings if f.kind == kind]
    if kind == "number":
        head = (f"{len(mine)} hand-typed number(s) in the prose of {page} (cells are 0-based). For each: "
                "if it is a result, glue it from the cell that computes it ({glue:text}`key:fmt`) and assert "
                "the claim there (a check's tolerance too: glue the value the assert uses); if it is maths, "
                "typeset it as maths ($1$); if it is a setting the code uses or not a result, add an Allow "
                "entry (context regex, group 'n', reason) to tests/test_prose_numbers.py.")
    else:
        head = (f"{len(mine)} measured-fact phrase(s) in {page} in a sentence with no {{glue:...}} role. "
                "Bind each to the value it describes (glue it into the sentence and assert it), rephrase, or "
                "allow-list it with a reason.")
    return "\n".join([head, *(f"  {f}" for f in mine)])


PAGES = [name for name in toc_files() if page_sources(name)]


@pytest.mark.parametrize("page", PAGES)
def test_no_hand_typed_numbers(page):
    findings = scan_page(page)
    assert not [f for f in findings if f.kind == "number"], _todo(findings, "number", page)


@pytest.mark.parametrize("page", PAGES)
def test_measured_fact_phrases_are_bound_to_glue(page):
    findings = scan_page(page)
    assert not [f for f in findings if f.kind == "phrase"], _todo(findings, "phrase", page)


def test_allow_list_is_commented_and_every_entry_is_used():
    unused = []
    for entry in ALLOW:
        assert entry.reason.strip(), f"allow entry {entry.pattern!r} has no reason"
        assert "(?P<n>" in entry.pattern, f"allow entry {entry.pattern!r} has no group 'n'"
        hits = [src for name in PAGES
                if fnmatch.fnmatch(f"{name}.ipynb" if (BOOK / f"{name}.ipynb").exists() else f"{name}.md",
                                   entry.files)
                for _, src in page_sources(name) if _compiled(entry.pattern).search(src)]
        if not hits:
            unused.append(entry)
    assert not unused, "allow-list entries that match nothing any more (delete them):\n" + "\n".join(
        f"  {e.files}: {e.pattern!r} ({e.reason})" for e in unused)


# ---------------------------------------------------------------------------------------------
# The scanner bites: synthetic pages.
# ---------------------------------------------------------------------------------------------


def _literals(src: str, allows=(), kind="number", generated=None) -> list[str]:
    return [f.literal for f in scan_source(src, "x.md", list(allows), generated) if f.kind == kind]


def test_a_bare_number_in_prose_is_caught():
    assert _literals("The gap is 0.67 nats, and the run took 12 s.") == ["0.67", "12"]
    assert _literals("A loss of 1e-3, a ratio of 10⁻³, 95 % of points, ×2 and 3x faster.") == [
        "1e-3", "10⁻³", "95 %", "×2", "3x"]
    assert _literals("Negative: -0.5 and −2; big: 1,000 and 10_000.") == ["-0.5", "−2", "1,000", "10_000"]


def test_glued_maths_code_roles_links_and_labels_are_not_prose():
    src = "\n".join([
        "---", "title: 3", "---",
        "(sec-2)=",
        "# A heading",
        "The gap, printed above, is {glue:text}`x-gap:.3f` nats; see {eq}`eq-2` and {cite}`ho2020`.",
        "Inline $x = 0.5$ and `lr = 3e-4` and ``a `1` b``, [a link](https://e.org/v2/page_3.html).",
        "<!-- a comment with 42 -->",
        "$$",
        "y = 2x + 1",
        "$$ (eq-lin-2)",
        "```python",
        "print(123)",
        "```",
        "```{math}",
        ":label: eq-three",
        "z = 3",
        "```",
        "\\begin{align} a &= 4 \\end{align}",
        "1. An exercise (the list number is syntax).",
        "float64, x0, L2 and H200 are names, not numbers.",
    ])
    assert _literals(src) == []


def test_prose_inside_a_prose_directive_is_scanned_but_its_options_are_not():
    src = "```{admonition} Solution 7\n:class: dropdown 8\nThe answer is 48.\n```\n"
    assert _literals(src) == ["7", "48"]
    assert _literals("````{note}\n```python\nx = 5\n```\nAnd 6.\n````\n") == ["6"]


def test_allow_list_matches_by_context_not_by_value():
    allow = [Allow("*", r"(?P<n>100) diffusion steps", "a setting")]
    assert _literals("We use 100 diffusion steps.", allow) == []
    assert _literals("We use 100 diffusion steps; the loss fell by 100 nats.", allow) == ["100"]
    other_file = [Allow("other.md", r"(?P<n>100) diffusion steps", "a setting")]
    assert [f.literal for f in scan_page_like("We use 100 diffusion steps.", "x.md", other_file)] == ["100"]


def scan_page_like(src: str, file_name: str, allows: list[Allow]) -> list[Finding]:
    mine = [a for a in allows if fnmatch.fnmatch(file_name, a.files)]
    return scan_source(src, file_name, mine)


def test_measured_phrases_need_glue_in_the_same_sentence():
    assert _literals("It is roughly right. It is nearly perfect.", kind="phrase") == ["roughly", "nearly"]
    assert _literals("The fit is roughly {glue:text}`k:.2f` nats off.", kind="phrase") == []
    assert _literals("Roughly {glue:text}`k:.2f`. But nearly none.", kind="phrase") == ["nearly"]
    assert _literals("This chapter is about flows; it runs in about a minute.", kind="phrase") == ["about"]
    assert _literals("Most of the mass moves, e.g. here, and half of it.", kind="phrase") == ["most", "half"]


def test_generated_regions_are_exempt_only_between_their_markers():
    markers = ("<!-- BEGIN GENERATED: t", "<!-- END GENERATED -->")
    src = "Typed 5.\n<!-- BEGIN GENERATED: t -->\n| 7 | 8 |\n<!-- END GENERATED -->\nTyped 9.\n"
    assert _literals(src, generated=markers) == ["5", "9"]
    assert _literals(src) == ["5", "7", "8", "9"]


def test_the_mutants_appendix_page_is_accepted():
    page = BOOK / "appendix_mutants.md"
    if not page.exists():
        pytest.skip("book/appendix_mutants.md not written yet")
    found = scan_source(page.read_text(), "book/appendix_mutants.md",
                        [a for a in ALLOW if fnmatch.fnmatch(page.name, a.files)],
                        GENERATED_REGIONS[page.name])
    assert not found, "\n".join(map(str, found))
