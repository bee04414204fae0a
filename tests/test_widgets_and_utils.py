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


def test_kl_view_numbers_match_closed_form():
    numbers, _ = kl_two_gaussians_view(1.0, 0.5)
    assert numbers["KL(q||p)"] == pytest.approx(-np.log(0.5) + (0.25 + 1.0) / 2 - 0.5)


def test_kl_view_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma_q: expected > 0"):
        kl_two_gaussians_view(0.0, 0.0)


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


def test_static_twin_precomputes_every_position_as_compact_natural_size_pictures():
    import io

    import ipywidgets
    from PIL import Image

    from companion.plotting import new_figure
    from companion.widgets import WidgetSpec

    def view(a, kind):
        fig, ax = new_figure(width=3.0, height=2.0)
        ax.plot([0, 1], [0, a if kind == "up" else -a])
        return {"a": a, "kind": kind}, fig

    spec = WidgetSpec("tiny", view, {"a": (1, 3, 1, 2), "kind": ("options", ["up", "down"], "up")})
    twin = spec.static_twin()
    slider_a, slider_kind, stack = twin.children
    assert isinstance(stack, ipywidgets.Stack) and len(stack.children) == 3  # a = 1, 2, 3
    assert stack.selected_index == 1 and slider_a.index == 1  # the default, a = 2
    leaves = [leaf for inner in stack.children for leaf in inner.children]
    assert len(leaves) == 3 * 2
    image, text = leaves[5].children  # a = 3, kind = "down"
    assert "a = 3" in text.value and "kind = down" in text.value
    picture = Image.open(io.BytesIO(image.value))
    assert picture.mode == "P" and picture.size == (3 * 80, 2 * 80)  # palette PNG, live resolution
    assert image.layout.align_self == "flex-start"  # not stretched (and blurred) to the page width
    assert len(image.value) < len(spec.render({"a": 3, "kind": "down"})[1])


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
