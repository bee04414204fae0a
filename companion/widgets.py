"""Widget callbacks: pure functions of the slider values that return numbers and a figure.

They are tested without a browser (the notebook only wires them to sliders), so a
widget can never be dragged into a state the tests did not cover. Slider ranges
live next to the callbacks, in one place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .distributions import kl_normal, normal_log_prob
from .plotting import new_figure
from .validation import check_scalar

__all__ = ["WidgetSpec", "KL_SLIDERS", "kl_two_gaussians_view", "kl_widget_spec", "widget_specs"]


@dataclass
class WidgetSpec:
    """One interactive figure: a pure callback and the ranges of its sliders.

    Every chapter describes its widgets this way, so that one mechanism builds the
    live ipywidget (:meth:`interact`), the benchmarks time the callback over its
    slider grid (:meth:`grid`), and the tests call it at every corner.

    Args:
        name: a short identifier, e.g. ``"kl-two-gaussians"``.
        callback: ``callback(**slider_values) -> (numbers: dict, fig)``; any state
            it needs (a trained model, a precomputed table) is bound beforehand.
        sliders: ``{argument: (min, max, step, default)}``; floats give a
            ``FloatSlider``, ints an ``IntSlider``; a tuple of options
            ``{argument: ("options", [a, b, ...], default)}`` gives a dropdown.
    """

    name: str
    callback: Callable
    sliders: dict = field(default_factory=dict)

    def values(self, argument: str) -> list:
        """Every value the slider for ``argument`` can take."""
        spec = self.sliders[argument]
        if spec[0] == "options":
            return list(spec[1])
        lo, hi, step, _ = spec
        n = int(round((hi - lo) / step))
        vals = [lo + i * step for i in range(n + 1)]
        return [int(round(v)) for v in vals] if isinstance(step, int) else [round(v, 10) for v in vals]

    def defaults(self) -> dict:
        return {k: (v[2] if v[0] == "options" else v[3]) for k, v in self.sliders.items()}

    def grid(self) -> list[dict]:
        """Every combination of slider values (the product of :meth:`values`)."""
        names = list(self.sliders)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(self.values(n) for n in names))]

    def corners(self) -> list[dict]:
        """The extreme combinations: each slider at its first or last value."""
        names = list(self.sliders)
        ends = [(self.values(n)[0], self.values(n)[-1]) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*ends)]

    def interact(self):
        """Wire the callback to ipywidgets sliders (for JupyterLab) and return the widget."""
        import ipywidgets
        from IPython.display import display

        controls = {}
        for arg, spec in self.sliders.items():
            if spec[0] == "options":
                controls[arg] = ipywidgets.Dropdown(options=list(spec[1]), value=spec[2], description=arg)
            else:
                lo, hi, step, default = spec
                cls = ipywidgets.IntSlider if isinstance(step, int) else ipywidgets.FloatSlider
                controls[arg] = cls(min=lo, max=hi, step=step, value=default, description=arg,
                                    continuous_update=False)

        def show(**values):
            numbers, fig = self.callback(**values)
            display(fig)
            print("  ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                            for k, v in numbers.items()))

        return ipywidgets.interactive(show, **controls)

    def static_twin(self, dpi: int = 60):
        """A kernel-free twin for the HTML site: every slider position precomputed.

        Each point of :meth:`grid` is rendered once (figure as PNG, numbers as text).
        Sliders are ``SelectionSlider`` widgets, linked in the browser (``jslink``) to
        nested ``Stack`` widgets that hold the pictures, so dragging a slider on the
        static page shows the precomputed result with no kernel and no network.
        """
        import io

        import ipywidgets

        names = list(self.sliders)
        sliders = {
            arg: ipywidgets.SelectionSlider(
                options=[(_fmt(v), i) for i, v in enumerate(self.values(arg))],
                value=self.values(arg).index(self.defaults()[arg]), description=arg,
                continuous_update=True)
            for arg in names
        }

        def leaf(values: dict):
            numbers, fig = self.callback(**values)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)
            text = "&nbsp;&nbsp;".join(f"{k} = {_fmt(v)}" for k, v in numbers.items())
            return ipywidgets.VBox([ipywidgets.Image(value=buf.getvalue(), format="png"),
                                    ipywidgets.HTML(f"<code>{text}</code>")])

        def build(level: int, fixed: dict):
            if level == len(names):
                return leaf(fixed)
            arg = names[level]
            children = [build(level + 1, {**fixed, arg: v}) for v in self.values(arg)]
            stack = ipywidgets.Stack(children, selected_index=sliders[arg].index)
            ipywidgets.jslink((sliders[arg], "index"), (stack, "selected_index"))
            return stack

        return ipywidgets.VBox([*sliders.values(), build(0, {})])

    def show(self):
        """Display the widget: live in a kernel, the static twin when building the site.

        The site build (``make book``) sets ``BOOK_BUILD=1``; readers of the HTML page
        have no kernel, so they get :meth:`static_twin` there.
        """
        import os

        from IPython.display import display

        display(self.static_twin() if os.environ.get("BOOK_BUILD") == "1" else self.interact())


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

#: Slider ranges ``name: (min, max, step, default)`` for :func:`kl_two_gaussians_view`.
KL_SLIDERS = {
    "mu_q": (-3.0, 3.0, 0.5, 1.0),
    "sigma_q": (0.25, 2.75, 0.5, 0.75),
}


def kl_two_gaussians_view(mu_q: float, sigma_q: float, mu_p: float = 0.0, sigma_p: float = 1.0):
    r"""Both directions of the KL between ``q = N(mu_q, sigma_q^2)`` and ``p = N(mu_p, sigma_p^2)``.

    Returns:
        ``(numbers, fig)``: ``numbers`` has keys ``"KL(q||p)"`` and ``"KL(p||q)"``
        (equation ``eq-kl-normal``); ``fig`` shows both densities.

    Example:
        >>> numbers, fig = kl_two_gaussians_view(0.0, 1.0)
        >>> numbers["KL(q||p)"], numbers["KL(p||q)"]
        (0.0, 0.0)
    """
    mu_q = check_scalar(mu_q, "mu_q")
    sigma_q = check_scalar(sigma_q, "sigma_q", low=0.0, closed=(False, True))
    mu_p = check_scalar(mu_p, "mu_p")
    sigma_p = check_scalar(sigma_p, "sigma_p", low=0.0, closed=(False, True))
    numbers = {
        "KL(q||p)": float(kl_normal(mu_q, sigma_q**2, mu_p, sigma_p**2)),
        "KL(p||q)": float(kl_normal(mu_p, sigma_p**2, mu_q, sigma_q**2)),
    }
    lo = min(mu_q - 4 * sigma_q, mu_p - 4 * sigma_p)
    hi = max(mu_q + 4 * sigma_q, mu_p + 4 * sigma_p)
    x = np.linspace(lo, hi, 400)
    fig, ax = new_figure(height=2.6)
    ax.plot(x, np.exp(normal_log_prob(x, mu_p, sigma_p**2)), label=r"$p$")
    ax.plot(x, np.exp(normal_log_prob(x, mu_q, sigma_q**2)), label=r"$q$")
    ax.set_title(
        f"KL(q||p) = {numbers['KL(q||p)']:.3f}    KL(p||q) = {numbers['KL(p||q)']:.3f}"
    )
    ax.set_xlabel("$x$")
    ax.legend()
    return numbers, fig


def kl_widget_spec() -> WidgetSpec:
    """The chapter-0 widget: both KL directions as ``q`` moves around ``p = N(0, 1)``."""
    return WidgetSpec("kl-two-gaussians", kl_two_gaussians_view, KL_SLIDERS)


def widget_specs() -> list[WidgetSpec]:
    """Every widget of chapter 0 (each chapter module has a ``widget_specs`` like this)."""
    return [kl_widget_spec()]
