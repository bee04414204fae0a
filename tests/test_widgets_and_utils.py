"""Widget callbacks at the corners of their sliders, and seeding."""

import itertools

import numpy as np
import pytest

import companion
from companion.widgets import KL_SLIDERS, kl_two_gaussians_view


def test_kl_view_at_every_corner_of_its_sliders():
    ranges = [(lo, hi) for lo, hi, _, _ in KL_SLIDERS.values()]
    for mu_q, sigma_q in itertools.product(*ranges):
        numbers, fig = kl_two_gaussians_view(mu_q, sigma_q)
        assert all(np.isfinite(v) and v >= 0 for v in numbers.values())
        lines = fig.axes[0].get_lines()
        assert len(lines) == 2 and all(np.isfinite(line.get_ydata()).all() for line in lines)


def test_kl_view_keeps_its_axes_at_every_slider_position():
    """Issue 17, item 13: moving a slider of the KL widget rescaled its axes, so the picture jumped."""
    from companion.widgets import kl_widget_spec

    spec = kl_widget_spec()
    limits = set()
    for values in spec.grid():
        _, fig = spec.callback(**values)
        (ax,) = fig.axes
        (lo, hi), (bottom, top) = ax.get_xlim(), ax.get_ylim()
        limits.add((float(lo), float(hi), float(bottom), float(top)))
        for line in ax.get_lines():  # each density whole: below the top, gone to ~0 at both ends
            y = line.get_ydata()
            assert y.max() < top and max(y[0], y[-1]) < 0.02 * top, (values, line.get_label())
    assert len(limits) == 1, f"{len(limits)} different axis limits over the slider grid: {sorted(limits)[:3]}"
    # off the grid (a chapter may call the view directly) the axes still hold the whole of q
    _, fig = kl_two_gaussians_view(9.0, 0.1)
    ax = fig.axes[0]
    highest = max(line.get_ydata().max() for line in ax.get_lines())
    assert ax.get_xlim()[1] >= 9.3 and ax.get_ylim()[1] > highest


def test_kl_view_numbers_match_closed_form():
    numbers, _ = kl_two_gaussians_view(1.0, 0.5)
    assert numbers["KL(q||p)"] == pytest.approx(-np.log(0.5) + (0.25 + 1.0) / 2 - 0.5)


def test_set_seed_reproduces_numpy_and_torch():
    import torch

    a = (companion.set_seed(3).normal(), torch.randn(2))
    b = (companion.set_seed(3).normal(), torch.randn(2))
    assert a[0] == b[0] and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="seed: expected an integer >= 0"):
        companion.set_seed(-1)


def test_widget_spec_grid_and_corners():
    from companion.widgets import kl_widget_spec

    spec = kl_widget_spec()
    assert len(spec.grid()) == 13 * 6
    assert {"mu_q": -3.0, "sigma_q": 2.75} in spec.corners() and len(spec.corners()) == 4
    assert spec.values("sigma_q")[-1] == 2.75 and spec.defaults() == {"mu_q": 1.0, "sigma_q": 0.75}
    for values in spec.corners():
        numbers, fig = spec.callback(**values)
        assert fig.axes and all(np.isfinite(v) for v in numbers.values())


def test_render_reuses_the_first_layout_exactly():
    from companion.widgets import kl_widget_spec

    spec = kl_widget_spec()
    numbers, first = spec.render()  # laid out by matplotlib's constrained layout
    again_numbers, again = spec.render()  # the recorded positions, no layout engine
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and numbers == again_numbers
    assert numbers == spec.callback(**spec.defaults())[0]
    assert first == again  # the same pixels: the stored positions are the layout's
    assert len(spec._layouts) == 1
    other_numbers, other = spec.render({"mu_q": -3.0, "sigma_q": 2.75})
    assert other != first and other_numbers["KL(q||p)"] > numbers["KL(q||p)"]
    assert all(not spec.clipped_labels(v) for v in spec.corners())
    # the static twin's resolution is honoured (savefig's dpi="figure" would mean the creation dpi)
    import io

    from PIL import Image

    width_in = spec.callback(**spec.defaults())[1].get_size_inches()[0]
    assert Image.open(io.BytesIO(spec.render(dpi=60)[1])).size[0] == round(width_in * 60)
    assert Image.open(io.BytesIO(spec.render()[1])).size[0] == round(width_in * 80)


def _everything_view(busy: int):
    """A view that, at ``busy=1``, sets every piece of axes state a widget view sets, and at
    ``busy=0`` almost none: a reused figure must forget all of it."""
    from matplotlib.patches import Rectangle

    from companion.plotting import new_figure

    fig, (ax, ax2) = new_figure(2, height=2.0, width=5.0)
    x = np.linspace(0.1, 1.0, 20)
    ax.plot(x, x * (1 + 9 * busy))  # a larger range the next, quieter position must not keep
    ax2.plot(x, x)
    ax2.set_xlabel("t")  # room below both panels, where a forgotten label of ``ax`` would show
    if busy:
        ax.plot(x, x**2, label="square")  # and colours move on: the next figure starts at C0
        ax.scatter(x, x, s=4)
        ax.fill_between(x, 0, x, alpha=0.2)
        ax.add_patch(Rectangle((0.2, 0.2), 0.1, 0.1))
        ax.text(0.5, 0.5, "note")
        ax.legend()
        ax.set_title("busy", loc="left")
        ax.set(title="title", xlabel="x", ylabel="y")
        ax.set_yscale("log")
        ax.margins(0.3)
        ax2.set_aspect("equal")
        ax2.set_xlim(0.0, 3.0)
        ax2.set_xscale("log")
    return {"busy": busy}, fig


def test_a_reused_figure_draws_the_same_picture_as_a_fresh_one():
    """A live redraw reuses the last figure (``plotting.reused_figures``): emptied, it must draw
    exactly what a figure built afresh draws, byte for byte, whatever the last position set."""
    from companion.widgets import WidgetSpec, kl_widget_spec

    for spec, moves in ((WidgetSpec("everything", _everything_view, {"busy": (0, 1, 1, 0)}),
                         [{"busy": 1}, {"busy": 0}, {"busy": 1}]),
                        (kl_widget_spec(), [{"mu_q": -3.0, "sigma_q": 2.75}, {"mu_q": 2.0}])):
        spec.render()
        for values in moves:
            kept = [fig for fig, _ in (v for k, v in spec._figures.items() if k != "calls")]
            _, reused = spec.render(values)
            assert kept == [fig for fig, _ in (v for k, v in spec._figures.items() if k != "calls")]
            spec._figures.clear()
            _, fresh = spec.render(values)  # a new figure, laid out as the reused one
            assert reused == fresh, (spec.name, values)
    # outside a render, a view builds a new figure each call (figures a chapter keeps stay intact)
    assert _everything_view(1)[1] is not _everything_view(1)[1]


def test_clipped_labels_reports_text_that_leaves_the_figure():
    from companion.plotting import new_figure
    from companion.widgets import WidgetSpec

    def view(width):
        fig, ax = new_figure(height=2.0)
        ax.plot([0, 1], [0, 1])
        ax.set_ylabel("y" * width)  # a long label needs a wider margin than the first layout kept
        return {"width": width}, fig

    spec = WidgetSpec("label-width", view, {"width": (1, 60, 59, 1)})
    assert spec.clipped_labels({"width": 1}) == []
    clipped = spec.clipped_labels({"width": 60})
    assert len(clipped) == 1 and "axes 0" in clipped[0], clipped


def test_render_leaves_the_garbage_collector_as_it_found_it():
    import gc

    from companion.widgets import kl_widget_spec

    spec = kl_widget_spec()
    assert gc.isenabled()
    spec.render()
    assert gc.isenabled()
    gc.disable()
    try:
        spec.render({"mu_q": 2.0})
        assert not gc.isenabled()
    finally:
        gc.enable()


def _twin_picture(leaf):
    """The picture, its attributes and the numbers of one static-twin position."""
    import base64
    import html
    import io
    import re

    from PIL import Image

    img = re.match(r'<img ([^>]*)>(.*)$', leaf.value, re.S)
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', img.group(1)))
    mime, data = re.match(r"data:([^;]+);base64,(.*)$", attrs["src"]).groups()
    raw = base64.b64decode(data)
    attrs = {k: html.unescape(v) for k, v in attrs.items()}
    return Image.open(io.BytesIO(raw)), raw, mime, attrs, img.group(2)


def test_static_twin_precomputes_every_position_as_compact_natural_size_pictures():
    import io
    import re

    import ipywidgets
    import numpy as np
    from PIL import Image

    from companion.plotting import new_figure
    from companion.widgets import WidgetSpec

    def view(a, kind):
        fig, ax = new_figure(width=3.0, height=2.0)
        ax.plot([0, 1], [0, a if kind == "up" else -a])
        ax.set(title=f"a line going {kind}", xlabel="time")
        return {"a": a, "kind": kind}, fig

    spec = WidgetSpec("tiny", view, {"a": (1, 3, 1, 2), "kind": ("options", ["up", "down"], "up")},
                      labels={"a": "slope"})
    twin = spec.static_twin()
    slider_a, slider_kind, stack = twin.children
    assert isinstance(slider_a, ipywidgets.SelectionSlider) and isinstance(slider_kind, ipywidgets.Dropdown)
    assert isinstance(stack, ipywidgets.Stack) and len(stack.children) == 3  # a = 1, 2, 3
    assert stack.selected_index == 1 and slider_a.index == 1  # the default, a = 2
    leaves = [leaf for inner in stack.children for leaf in inner.children]
    assert len(leaves) == 3 * 2 and all(isinstance(leaf, ipywidgets.HTML) for leaf in leaves)
    picture, raw, mime, attrs, text = _twin_picture(leaves[5])  # a = 3, kind = "down"
    assert re.findall(r"<code>([^<]*)</code>", text) == ["a = 3", "kind = down"], text  # a span per number
    assert picture.size == (3 * 80, 2 * 80)  # the live widget's resolution, shown at natural size:
    assert (attrs["width"], attrs["height"]) == ("240", "160")
    assert "max-width: 100%" in attrs["style"]  # and never wider than the column
    assert attrs["alt"] == "Figure. Panel: a line going down; x: time. At slope 3, kind down.", attrs["alt"]
    # the pixels are those of the live widget's picture, reduced to at most 256 colours
    _, png = spec.render({"a": 3, "kind": "down"})
    live = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    shown = np.asarray(picture.convert("RGB"), dtype=float)
    assert live.shape == shown.shape and len(np.unique(shown.reshape(-1, 3), axis=0)) <= 256
    assert np.abs(live - shown).mean() < 1.0, np.abs(live - shown).mean()  # per channel, of 255
    assert mime == "image/webp" and len(raw) < len(png) / 2, (mime, len(raw), len(png))
    other = _twin_picture(leaves[4])  # a = 3, kind = "up": another picture
    assert np.abs(np.asarray(other[0].convert("RGB"), dtype=float) - shown).max() > 100


def test_live_controls_are_sliders_for_numbers_and_dropdowns_for_words():
    import ipywidgets

    from companion.plotting import new_figure
    from companion.widgets import WidgetSpec

    def view(a, kind, n):
        fig, ax = new_figure(width=2.0, height=1.5)
        ax.plot([0, 1], [0, a * n if kind == "up" else -a * n])
        return {"a": a}, fig

    spec = WidgetSpec("tiny", view, {"a": (0.5, 1.5, 0.5, 1.0), "kind": ("options", ["up", "down"], "down"),
                                     "n": ("options", [1, 2, 5], 2)})
    live = spec.interact()
    a, kind, n = live.children[:3]
    assert isinstance(a, ipywidgets.FloatSlider) and (a.min, a.max, a.step, a.value) == (0.5, 1.5, 0.5, 1.0)
    assert isinstance(kind, ipywidgets.Dropdown) and kind.value == "down"
    assert isinstance(n, ipywidgets.SelectionSlider) and n.value == 2
    assert n.options == (("1", 1), ("2", 2), ("5", 5))


def test_static_twin_positions_share_their_layout_and_style_models():
    """Issue 17, item 14: every position of a static twin carried three layouts and a text style
    of its own, each a model of about a kilobyte in the page's widget state."""
    import json

    from ipywidgets.embed import dependency_state

    from companion.plotting import new_figure
    from companion.widgets import WidgetSpec

    def view(a):
        fig, ax = new_figure(width=1.5, height=1.0)
        ax.plot([0, 1], [0, a])
        return {"a": a}, fig

    def page_models(n_positions):
        twin = WidgetSpec("tiny", view, {"a": (1, n_positions, 1, 1)}).static_twin()
        state = dependency_state(twin, drop_defaults=False)  # as the page stores it
        pictures = sum(len(m["state"]["value"]) for m in state.values() if m["model_name"] == "HTMLModel")
        return ({name: sum(m["model_name"] == name for m in state.values())
                 for name in ("LayoutModel", "HTMLStyleModel")},
                len(state), len(json.dumps(state)) - pictures)

    (few, n_few, bytes_few), (many, n_many, bytes_many) = page_models(2), page_models(6)
    assert few == many, (few, many)  # shared: as many layouts and styles whatever the grid
    assert n_many - n_few == 4  # a position is one model: its picture and numbers in one HTML widget
    assert (bytes_many - bytes_few) / 4 < 1000  # bytes a position adds to the page besides its picture


def test_displayed_figures_are_twice_as_sharp_and_carry_their_description():
    import io

    from PIL import Image

    from companion.plotting import _display_png, figure_png, new_figure

    fig, ax = new_figure(width=4.0, height=2.0)
    ax.set(title="a title", xlabel="t", ylabel="nats")
    png, meta = _display_png(fig)
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (2 * meta["width"], 2 * int(round(2.0 * fig.dpi)))
        assert im.info["Description"] == "Figure. Panel: a title; x: t; y: nats."
    with Image.open(io.BytesIO(figure_png(fig))) as im:
        assert im.size[0] == meta["width"]


def _log_axis_tables(eds):
    """Synthetic precomputed tables for the two widgets with a logarithmic energy-distance axis."""
    import torch

    from companion import diffusion, flow_matching

    gen = torch.Generator().manual_seed(0)
    points = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)  # noqa: E731
    steps, etas = diffusion.SAMPLING_SLIDERS["steps"][1], diffusion.SAMPLING_SLIDERS["eta"][1]
    ddim_keys = [(s, e) for s in steps for e in etas]
    fm_keys = [(p, m, s) for p in flow_matching.PATHS for m in flow_matching.METHODS
               for s in flow_matching.SAMPLING_SLIDERS["steps"][1]]
    ed = lambda i, n: float(np.geomspace(*eds, n)[i])  # noqa: E731
    return {
        "diffusion": (diffusion.sampling_steps_view,
                      {k: (points(50, 2), ed(i, len(ddim_keys))) for i, k in enumerate(ddim_keys)}),
        "flow_matching": (flow_matching.sampling_view,
                          {k: (points(k[2] + 1, 5, 2), points(50, 2), ed(i, len(fm_keys)))
                           for i, k in enumerate(fm_keys)}),
    }


@pytest.mark.parametrize("eds", [(0.03, 0.08), (0.04, 0.38), (0.002, 0.9)],
                         ids=["in-a-decade", "across-0.1", "wide"])
@pytest.mark.parametrize("widget", ["diffusion", "flow_matching"])
def test_log_axis_widgets_label_at_least_two_ticks_at_every_position(widget, eds):
    """Issue 17, item 13: with its minor ticks off, the energy-distance axis (logarithmic) of the
    sampling widgets showed a single tick label (or none) when the numbers spanned under a decade."""
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    view, table = _log_axis_tables(eds)[widget]
    reference = torch.zeros(40, 2, dtype=torch.float64)
    limits = set()
    for key in table:
        _, fig = view(*key, table=table, reference=reference)
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[1]
        assert ax.get_yscale() == "log"
        lo, hi = ax.get_ylim()
        labels = [t.label1.get_text() for t in ax.yaxis.get_major_ticks() + ax.yaxis.get_minor_ticks()
                  if t.label1.get_visible() and t.label1.get_text()
                  and lo * (1 - 1e-9) <= t.get_loc() <= hi * (1 + 1e-9)]
        assert len(labels) >= 2, (widget, key, labels, (lo, hi))
        assert lo < eds[0] and eds[1] < hi  # every number of the table in view
        limits.add((lo, hi))
    assert len(limits) == 1, limits  # and the axis stays put as the sliders move


def test_every_control_is_labelled_in_words():
    """Issue 17, item 13: no control is labelled by a variable name (``mu_q``, ``lr_g``, ``t``)."""
    from companion import capstone, diffusion, flow_matching, flows, gan, gan_theory, vae
    from companion.widgets import KL_SLIDERS, WidgetSpec

    tables = [KL_SLIDERS, flows.FLOW_1D_SLIDERS, gan.LOSS_SLIDERS, gan_theory.DIRAC_SLIDERS, vae.BETA_SLIDERS,
              diffusion.NOISED_SLIDERS, diffusion.SAMPLING_SLIDERS, flow_matching.SAMPLING_SLIDERS,
              capstone.SAMPLES_SLIDERS, {"lr_g": None, "lr_d": None, "checkpoint": None, "layer": None}]
    spec = WidgetSpec("any", lambda **k: None)
    bare = [arg for table in tables for arg in table
            if "_" in spec.label(arg) or len(spec.label(arg)) < 3]
    assert not bare, f"controls labelled by a variable name: {bare}"


def test_markdown_table_renders_rows_under_their_header_and_refuses_ragged_rows():
    import markdown_it

    from companion.utils import markdown_table

    text = markdown_table(["path", "loss | se"], [["linear", "0.52"], ["cosine", 0.61]])
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<tr>") == 3 and html.count("<th ") == 2 and html.count("<td ") == 4, html
    assert "loss | se" in html and '<td style="text-align:right">0.61</td>' in html, html
    assert '<td style="text-align:left">linear</td>' in html, html
    with pytest.raises(ValueError, match=r"rows: row 1 has 1 cells, expected 2"):
        markdown_table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="header: expected at least one column"):
        markdown_table([], [[1]])
    with pytest.raises(ValueError, match="rows: expected at least one row"):
        markdown_table(["a"], [])
