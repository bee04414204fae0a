"""The map of the five families, as data: defined once, rendered with links to the chapters.

Each cell of the map is a :class:`Cell`: a short claim, the label of the chapter that
derives it (``ch-vae``, ...) and the label of the equation it rests on (``eq-elbo``,
...). :func:`render_family_map` turns the table into MyST Markdown (``{ref}`` and
``{eq}`` roles that Sphinx resolves) or into plain HTML links, and
:func:`notebook_labels` reads the labels a chapter defines, so a test can check that
every link points at something that exists.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from companion.validation import check_choice

__all__ = ["Cell", "FAMILIES", "PROPERTIES", "CHAPTER_FILES", "FAMILY_MAP", "family_cell",
           "linked_labels", "render_family_map", "notebook_labels"]


@dataclass(frozen=True)
class Cell:
    """One claim of the family map, with where it is derived.

    Args:
        text: the claim, plain text (may contain inline ``$...$`` math).
        chapter: the label of the chapter that derives it, e.g. ``"ch-vae"``.
        equation: the label of the equation it rests on, e.g. ``"eq-elbo"``.
    """

    text: str
    chapter: str
    equation: str


#: The five families, in the order of the book's chapters.
FAMILIES = ("VAE", "GAN", "flow", "diffusion", "flow matching")

#: ``(key, column title)`` of each property the map compares.
PROPERTIES = (
    ("objective", "Core objective"),
    ("tool", "Mathematical tool"),
    ("likelihood", "Exact likelihood?"),
    ("sampling", "Sampling cost"),
    ("latent", "Latent space?"),
    ("stability", "Training stability"),
)

#: The notebook (without ``.ipynb``) that defines each chapter label.
CHAPTER_FILES = {
    "ch-toolkit": "toolkit",
    "ch-family-map": "family_map",
    "ch-vae": "vae",
    "ch-gan": "gan",
    "ch-flows": "flows",
    "ch-diffusion": "diffusion",
    "ch-flow-matching": "flow_matching",
    "ch-guidance": "guidance",
    "ch-capstone": "capstone",
}

_V, _G, _F, _D, _M, _C = "ch-vae", "ch-gan", "ch-flows", "ch-diffusion", "ch-flow-matching", "ch-capstone"

#: ``FAMILY_MAP[family][property]`` is a :class:`Cell`.
FAMILY_MAP: dict[str, dict[str, Cell]] = {
    "VAE": {
        "objective": Cell("maximise the ELBO, a lower bound on $\\log p(x)$", _V, "eq-elbo"),
        "tool": Cell("variational inference: the gap to $\\log p(x)$ is a KL divergence", _V, "eq-elbo-gap"),
        "likelihood": Cell("no: a lower bound, tightened by importance weighting (IWAE)", _V, "eq-iwae"),
        "sampling": Cell("one decoder pass", _V, "eq-elbo"),
        "latent": Cell("yes: a low-dimensional $z$ with an encoder $q(z \\mid x)$", _V, "eq-reparam"),
        "stability": Cell("stable (one objective); risks blur and posterior collapse", _V, "eq-linear-vae"),
    },
    "GAN": {
        "objective": Cell("a min-max game between generator and discriminator", _G, "eq-gan-value"),
        "tool": Cell("divergence minimisation: at the best discriminator, a JS divergence "
                     "(the non-saturating generator follows "
                     "$\\KL(p_g \\Vert p_{\\text{data}})$ minus twice JS, Arjovsky and Bottou)",
                     _G, "eq-v-star"),
        "likelihood": Cell("none: the discriminator only estimates a density ratio", _G, "eq-d-star"),
        "sampling": Cell("one generator pass", _G, "eq-gan-value"),
        "latent": Cell("yes: noise $z$, but no encoder", _G, "eq-gan-value"),
        "stability": Cell("fragile: a saddle point, saturating gradients, mode collapse", _G, "eq-gen-grads"),
    },
    "flow": {
        "objective": Cell("maximise the exact log-likelihood", _F, "eq-flow-nll"),
        "tool": Cell("change of variables with a tractable Jacobian", _F, "eq-cov-nd"),
        "likelihood": Cell("yes, exact", _F, "eq-flow-logprob"),
        "sampling": Cell("one pass through coupling layers (an autoregressive MAF needs one "
                         "pass per dimension)", _F, "eq-affine-coupling"),
        "latent": Cell("yes: same dimension as the data, an exact bijection", _F, "eq-cov-nd"),
        "stability": Cell("stable (maximum likelihood); limited by invertible layers",
                          _F, "eq-coupling-logdet"),
    },
    "diffusion": {
        "objective": Cell("denoising: predict the added noise (denoising score matching)",
                          _D, "eq-simple-loss"),
        "tool": Cell("a Gaussian Markov chain; the optimal noise predictor is "
                     "$-\\sqrt{1-\\bar\\alpha_t}$ times the score of the noised data",
                     _D, "eq-eps-score"),
        "likelihood": Cell("yes, through the probability-flow ODE (an ODE solve per point); "
                           "a variational bound costs one network pass per step", _C, "eq-pf-loglik"),
        "sampling": Cell("many network passes: $T$ (DDPM), fewer with DDIM", _D, "eq-ddpm-step"),
        "latent": Cell("the noise $x_T$, same dimension; deterministic map with DDIM", _D, "eq-ddim-step"),
        "stability": Cell("stable: a regression loss; the cost moves to sampling", _D, "eq-simple-loss"),
    },
    "flow matching": {
        "objective": Cell("regress a velocity field on the velocities of noise-data pairs",
                          _M, "eq-fm-cfm-loss"),
        "tool": Cell("the continuity equation; the marginal velocity is a conditional mean",
                     _M, "eq-fm-marginal-velocity"),
        "likelihood": Cell("yes, by integrating the divergence along the ODE (an ODE solve per point)",
                           _M, "eq-fm-loglik"),
        "sampling": Cell("an ODE solve: a few to tens of network passes, fewer on straighter paths",
                         _M, "eq-fm-solvers"),
        "latent": Cell("the noise $x_0$, same dimension; a deterministic map", _M, "eq-fm-ode"),
        "stability": Cell("stable: a regression loss, no simulation during training", _M, "eq-fm-cfm-loss"),
    },
}


def family_cell(family: str, prop: str) -> Cell:
    """The :class:`Cell` of ``family`` (one of :data:`FAMILIES`) for property ``prop``.

    Example:
        >>> family_cell("flow", "likelihood").text
        'yes, exact'
    """
    family = check_choice(family, "family", FAMILIES)
    prop = check_choice(prop, "prop", [k for k, _ in PROPERTIES])
    return FAMILY_MAP[family][prop]


def linked_labels() -> dict[str, set[str]]:
    """Every equation label the map links to, grouped by chapter label.

    Example:
        >>> "eq-elbo" in linked_labels()["ch-vae"]
        True
    """
    out: dict[str, set[str]] = {}
    for row in FAMILY_MAP.values():
        for cell in row.values():
            out.setdefault(cell.chapter, set()).add(cell.equation)
    return out


def _myst_cell(cell: Cell) -> str:
    return f"{cell.text} ({{ref}}`§<{cell.chapter}>`, {{eq}}`{cell.equation}`)"


def _html_math(text: str) -> str:
    # Inline $...$ becomes MathJax's \( ... \); everything else is escaped.
    parts = text.split("$")
    return "".join(html.escape(p) if i % 2 == 0 else f"\\({html.escape(p)}\\)" for i, p in enumerate(parts))


def _html_cell(cell: Cell) -> str:
    page = CHAPTER_FILES[cell.chapter]
    return (f"{_html_math(cell.text)} (<a href=\"{page}.html#{cell.chapter}\">§</a>, "
            f"<a href=\"{page}.html#equation-{cell.equation}\">eq.</a>)")


def render_family_map(fmt: str = "myst") -> str:
    r"""The family map as a table, each cell linking to its chapter and equation.

    ``fmt="myst"`` gives a Markdown pipe table whose cells end in ``{ref}`` and ``{eq}``
    roles (MyST-NB resolves them in a ``text/markdown`` output rendered as MyST);
    ``fmt="html"`` gives an HTML table with links to ``<chapter>.html#<label>`` and
    ``<chapter>.html#equation-<label>``, the anchors Sphinx writes.

    Args:
        fmt: ``"myst"`` or ``"html"``.

    Returns:
        the table as a string: one header row and one row per property.

    Example:
        >>> print(render_family_map().splitlines()[0])
        | | VAE | GAN | flow | diffusion | flow matching |
    """
    fmt = check_choice(fmt, "fmt", ["myst", "html"])
    if fmt == "myst":
        lines = ["| | " + " | ".join(FAMILIES) + " |", "|---" * (len(FAMILIES) + 1) + "|"]
        for key, title in PROPERTIES:
            cells = [_myst_cell(FAMILY_MAP[f][key]) for f in FAMILIES]
            lines.append(f"| **{title}** | " + " | ".join(cells) + " |")
        return "\n".join(lines)
    head = "".join(f"<th>{html.escape(f)}</th>" for f in FAMILIES)
    rows = [f"<table class=\"family-map\">\n<tr><th></th>{head}</tr>"]
    for key, title in PROPERTIES:
        row = "".join(f"<td>{_html_cell(FAMILY_MAP[f][key])}</td>" for f in FAMILIES)
        rows.append(f"<tr><th>{html.escape(title)}</th>{row}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


_SECTION_LABEL = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$", re.MULTILINE)
_EQ_LABEL = re.compile(r"\$\$\s*\(([A-Za-z0-9_-]+)\)\s*$", re.MULTILINE)
_MATH_LABEL = re.compile(r"^:label:\s*([A-Za-z0-9_-]+)\s*$", re.MULTILINE)


def notebook_labels(path: str | Path) -> set[str]:
    r"""The MyST labels a chapter notebook defines in its Markdown cells.

    Section labels ``(name)=`` on a line of their own, dollarmath labels
    ``$$ ... $$ (name)`` and ``{math}`` directive ``:label: name`` options.

    Args:
        path: a ``.ipynb`` file.

    Returns:
        the set of label names.

    Example:
        >>> import tempfile, nbformat
        >>> nb = nbformat.v4.new_notebook()
        >>> nb.cells = [nbformat.v4.new_markdown_cell("(ch-x)=\n# X\n$$ a = b $$ (eq-a)")]
        >>> p = Path(tempfile.mkdtemp()) / "x.ipynb"
        >>> nbformat.write(nb, p)
        >>> sorted(notebook_labels(p))
        ['ch-x', 'eq-a']
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path: expected a str or Path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path: expected a .ipynb file, got {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"path: no such file {str(path)!r}")
    nb = json.loads(path.read_text())
    labels: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for pattern in (_SECTION_LABEL, _EQ_LABEL, _MATH_LABEL):
            labels.update(pattern.findall(src))
    return labels
