"""Widget callbacks: pure functions of the slider values that return numbers and a figure.

They are tested without a browser (the notebook only wires them to sliders), so a
widget can never be dragged into a state the tests did not cover. Slider ranges
live next to the callbacks, in one place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from .utils import moved_names

__all__ = ["WidgetSpec", "LABELS", "READOUTS", "readout"]


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
            ``{argument: ("options", [a, b, ...], default)}`` gives a dropdown (words) or a
            slider over the listed values (numbers).
        labels: ``{argument: words}``, what each control is called on the page; arguments not
            given here take :data:`LABELS`' words, or their own name.
    """

    name: str
    callback: Callable
    sliders: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    #: Axes positions from the first laid-out render, keyed by (figure size, number of axes).
    _layouts: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    #: The figures the callback drew into last time, emptied and reused by the next render.
    _figures: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def label(self, argument: str) -> str:
        """The words a reader sees for the control of ``argument``."""
        return self.labels.get(argument) or LABELS.get(argument, argument)

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

    def render(self, values: dict | None = None, *, dpi: float | None = None) -> tuple[dict, bytes]:
        """The numbers and the PNG picture of one slider position, as the widget shows them.

        ``values`` defaults to the sliders' defaults. Matplotlib's constrained layout
        measures every label before drawing and costs about as much as the drawing itself
        (measured in ``make bench``), so it runs once: the first render of each figure
        shape lays the axes out and records their positions, later renders reuse them.
        Margins are measured at the first position drawn; ``tests`` check that no label
        leaves the picture at any corner of the sliders (:meth:`clipped_labels`).
        """
        import gc

        # A figure is a web of reference cycles. Left to the cyclic collector, it is promoted
        # to the oldest generation, whose collections scan the whole heap (torch included)
        # and added ~150 ms to one slider move in twenty. So: no collection while drawing,
        # then the young generations only, which frees this figure for a few milliseconds.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            numbers, png = self._render(values, dpi)
        finally:
            if was_enabled:
                gc.enable()
        gc.collect(1)
        return numbers, png

    def _figure_with_layout(self, values: dict | None):
        """The callback's ``(numbers, fig)`` at ``values`` (defaults filled in), with the axes
        positions recorded for this figure shape applied and the layout engine off; also the
        shape's key and those positions (``None`` before the shape was first laid out)."""
        from .plotting import reused_figures

        with reused_figures(self._figures):
            numbers, fig = self.callback(**{**self.defaults(), **(values or {})})
        key = (tuple(fig.get_size_inches().round(3)), len(fig.axes))
        positions = self._layouts.get(key)
        if positions is not None and fig.get_layout_engine() is not None:
            fig.set_layout_engine(None)  # not "none": a placeholder engine costs an extra draw
            for ax, pos in zip(fig.axes, positions, strict=True):
                ax.set_position(pos, which="original")
        return numbers, fig, key, positions

    def _render(self, values: dict | None, dpi: float | None) -> tuple[dict, bytes]:
        import io

        numbers, fig, key, positions = self._figure_with_layout(values)
        if positions is None and hasattr(fig.get_layout_engine(), "set"):
            # The layout is measured once; leave room for wider tick labels at other positions.
            fig.get_layout_engine().set(w_pad=_LAYOUT_PAD, h_pad=_LAYOUT_PAD)
        if dpi is not None:
            fig.set_dpi(dpi)
        from .plotting import figure_alt_text

        buf = io.BytesIO()
        _canvas_with_shared_mathtext(fig)
        fig.savefig(buf, format="png", dpi=fig.dpi, facecolor="white", transparent=False,  # not "figure":
                    metadata={"Description": figure_alt_text(fig)})  # that means the dpi the figure
        # was created with, not the one set above; the description is the static twin's alt text
        if positions is None:
            self._layouts[key] = [ax.get_position(original=True).frozen() for ax in fig.axes]
        return numbers, buf.getvalue()

    def clipped_labels(self, values: dict | None = None) -> list[str]:
        """Axes whose drawn text leaves the figure at ``values`` under the reused layout.

        Renders the defaults first (which fixes the layout), then draws ``values`` with
        that layout and describes every axes whose tight extent (tick labels, titles,
        axis labels, legend) leaves the figure by more than a pixel; empty when all of
        the picture is visible.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.render()
        _, fig, _, positions = self._figure_with_layout(values)
        if positions is None:  # another figure shape: laid out afresh, nothing to check
            return []

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        width, height = fig.bbox.width, fig.bbox.height
        clipped = []
        for i, ax in enumerate(fig.axes):
            box = ax.get_tightbbox(renderer)  # what is drawn: tick labels, titles, legend
            if box is not None and (box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1
                                    or box.y1 > height + 1):
                clipped.append(f"axes {i} ({ax.get_title() or ax.get_xlabel() or 'untitled'}): "
                               f"extent {box.x0:.0f}..{box.x1:.0f} x {box.y0:.0f}..{box.y1:.0f} "
                               f"in a {width:.0f} x {height:.0f} figure")
        return clipped

    def interact(self):
        """Wire the callback to ipywidgets sliders (for JupyterLab) and return the widget."""
        import ipywidgets
        from IPython.display import display

        controls = {}
        for arg, spec in self.sliders.items():
            look = dict(description=self.label(arg), style=_CONTROL_STYLE, layout=_control_layout())
            if spec[0] == "options" and all(isinstance(v, str) for v in spec[1]):  # a choice
                controls[arg] = ipywidgets.Dropdown(options=list(spec[1]), value=spec[2], **look)
            elif spec[0] == "options":  # listed numbers: an ordered scale, as on the site
                controls[arg] = ipywidgets.SelectionSlider(options=[(_fmt(v), v) for v in spec[1]],
                                                           value=spec[2], continuous_update=False, **look)
            else:
                lo, hi, step, default = spec
                cls = ipywidgets.IntSlider if isinstance(step, int) else ipywidgets.FloatSlider
                controls[arg] = cls(min=lo, max=hi, step=step, value=default, continuous_update=False, **look)

        from IPython.display import Image

        def show(**values):
            numbers, png = self.render(values)
            display(Image(png))
            print("  ".join(_readouts(numbers)))

        return ipywidgets.interactive(show, **controls)

    def static_twin(self, dpi: int | None = None):
        """A kernel-free twin for the HTML site: every slider position precomputed.

        Each point of :meth:`grid` is rendered once, at the live widget's resolution unless
        ``dpi`` is given, and becomes one ``HTML`` widget: the picture, shown at its natural
        size, with its description and the slider values as alt text, and the numbers under
        it. A page holds every position, so the picture is as small as it can be made
        without a visible loss (:func:`_compact_picture`: 256 colours, lossless WebP, under a third
        of the matplotlib PNG's bytes), and a position is one widget model, not a box
        holding an image and a text (each model is about a kilobyte in the page).
        Sliders (dropdowns for words) are linked in the browser (``jslink``) to nested
        ``Stack`` widgets that hold the positions, so dragging a slider on the static page
        shows the precomputed result with no kernel and no network.
        """
        import base64
        import html

        import ipywidgets
        from ipywidgets.widgets.widget_string import HTMLStyle

        self.render()  # lay the figure out at the default position, as the live widget does
        names = list(self.sliders)
        sliders = {}
        for arg in names:
            values = self.values(arg)
            # words are a choice (a dropdown); numbers are an ordered scale (a slider)
            words = all(isinstance(v, str) for v in values)
            cls = ipywidgets.Dropdown if words else ipywidgets.SelectionSlider
            extra = {} if cls is ipywidgets.Dropdown else {"continuous_update": True}
            sliders[arg] = cls(options=[(_fmt(v), i) for i, v in enumerate(values)],
                               value=values.index(self.defaults()[arg]), description=self.label(arg),
                               style=_CONTROL_STYLE, layout=_control_layout(), **extra)

        # One layout and one text style shared by every position: a widget left to make its own
        # stores them in the page as models of about a kilobyte each.
        plain, text_style = ipywidgets.Layout(), HTMLStyle()

        def leaf(values: dict):
            numbers, png = self.render(values, dpi=dpi)
            picture, mime, (width, height), description = _compact_picture(png)
            position = ", ".join(f"{self.label(k)} {_fmt(v)}" for k, v in values.items())
            alt = html.escape(f"{description} At {position}.", quote=True)
            # one code span per number: a narrow column breaks the line between numbers, not inside one
            text = " ".join(f"<code>{html.escape(item)}</code>" for item in _readouts(numbers))
            # natural size, never wider than the column (a phone scales it down, keeping its shape)
            img = (f'<img class="twin-frame" src="data:{mime};base64,{base64.b64encode(picture).decode()}" '
                   f'alt="{alt}" width="{width}" height="{height}" '
                   'style="display: block; max-width: 100%; height: auto;">')
            return ipywidgets.HTML(f"{img}{text}", layout=plain, style=text_style)

        def build(level: int, fixed: dict):
            if level == len(names):
                return leaf(fixed)
            arg = names[level]
            children = [build(level + 1, {**fixed, arg: v}) for v in self.values(arg)]
            stack = ipywidgets.Stack(children, selected_index=sliders[arg].index, layout=plain)
            ipywidgets.jslink((sliders[arg], "index"), (stack, "selected_index"))
            return stack

        return ipywidgets.VBox([*sliders.values(), build(0, {})])

    def show(self):
        """Display the widget: live in a kernel, the static twin when building the site.

        The site build (``make book``) sets ``BOOK_BUILD=1``; readers of the HTML page
        have no kernel, so they get :meth:`static_twin` there. The PDF build (``make pdf``)
        sets ``BOOK_BUILD=pdf`` and gets the picture and numbers at the sliders' defaults.
        """
        import os

        from IPython.display import display

        mode = os.environ.get("BOOK_BUILD")
        if mode == "pdf":   # a printed page: the default position's picture and numbers
            from IPython.display import Image

            numbers, png = self.render()
            display(Image(png))
            print("  ".join(_readouts(numbers))
                  + "   (at the sliders' defaults; interactive on the web site and in JupyterLab)")
            return
        display(self.static_twin() if mode == "1" else self.interact())


_MATHTEXT_PARSER = None
#: What the page calls each control, by argument name (a spec's ``labels`` take precedence).
LABELS = {
    "mu_q": "mean of q", "sigma_q": "std. dev. of q",
    "beta": "KL weight β", "latent_dim": "latent units",
    "logit": "discriminator logit on a fake", "lr_g": "generator learning rate",
    "lr_d": "discriminator learning rate", "checkpoint": "training checkpoint",
    "lr": "learning rate h", "gamma": "R1 penalty γ", "layer": "after layer",
    "t": "step t", "schedule": "noise schedule", "steps": "network evaluations",
    "eta": "η (0: DDIM, 1: DDPM-like)", "path": "probability path", "method": "ODE solver",
    "label": "class c", "family": "model family", "seed": "training seed",
}

#: What the read-out under a widget's picture calls each number, where the callback's key is a
#: variable name (``modes_covered``) rather than words.
READOUTS = {
    "modes_covered": "modes covered", "high_quality": "high-quality share",
    "max_share": "largest mode's share", "off_support": "off-support share",
    "L_sat": "saturating loss", "L_ns": "non-saturating loss",
    "dL_sat/dl": "saturating dL/dl", "dL_ns/dl": "non-saturating dL/dl",
    "alpha_bar": "ᾱₜ (signal kept)",
}


def readout(key: str) -> str:
    """The words a reader sees for the number ``key`` under a widget's picture."""
    return READOUTS.get(key, key)


def _readouts(numbers: dict) -> list[str]:
    """``"name = value"`` for each number a callback returns, as every form of a widget shows it."""
    return [f"{readout(k)} = {_fmt(v)}" for k, v in numbers.items()]

#: Labels sized to their words, not ipywidgets' fixed 80 px (which cut them off).
_CONTROL_STYLE = {"description_width": "initial"}


def _control_layout():
    import ipywidgets

    return ipywidgets.Layout(width="100%", max_width="560px")


#: Padding (inches) around each axes when a widget's layout is measured (matplotlib: 3/72).
_LAYOUT_PAD = 6 / 72


def _canvas_with_shared_mathtext(fig):
    """An Agg canvas for ``fig`` whose renderer shares one mathtext parser across figures.

    Matplotlib caches parsed ``$...$`` strings per parser and makes a parser per
    renderer, so every new figure re-parses its tick labels (``10^{-3}`` on a log axis
    costs about 10 ms each). Sharing the parser keeps that cache between renders.
    """
    global _MATHTEXT_PARSER
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    if hasattr(renderer, "mathtext_parser"):
        if _MATHTEXT_PARSER is None:
            _MATHTEXT_PARSER = renderer.mathtext_parser
        renderer.mathtext_parser = _MATHTEXT_PARSER
    return canvas


def _compact_picture(png: bytes) -> tuple[bytes, str, tuple[int, int], str]:
    """``png`` made small for a page that holds hundreds of them: ``(bytes, mime type, (width,
    height), description)``, the description from the PNG's ``Description`` chunk.

    The picture keeps 256 colours (median cut, no dithering: a line plot loses nothing visible)
    and is stored as lossless WebP, about a fifth smaller than the same palette as a PNG
    (as a PNG where this Pillow cannot write WebP). Together, 0.28 to 0.32 of the bytes of
    matplotlib's PNG on the book's widgets. The pixels are exactly those of the 256-colour image.
    """
    import io

    from PIL import Image, features

    source = Image.open(io.BytesIO(png))
    description = source.text.get("Description", "") if hasattr(source, "text") else ""
    image = source.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                           dither=Image.Dither.NONE)
    buf = io.BytesIO()
    if features.check("webp"):
        # method 4: within 1% of the smallest (method 6), a hundred times faster
        image.save(buf, format="WEBP", lossless=True, quality=100, method=4)
        mime = "image/webp"
    else:
        image.save(buf, format="PNG", optimize=True)
        mime = "image/png"
    return buf.getvalue(), mime, image.size, description


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# Names whose home moved, still resolved here on first use, so readers' code written against the
# old paths keeps working: the widgets (presentation apart from the mathematics).
_HOMES = {
    "views.toolkit": ("KL_SLIDERS", "kl_two_gaussians_view", "kl_widget_spec", "widget_specs"),
}


__getattr__ = moved_names(__name__, _HOMES)
