"""Widgets whose axes must stay put while a slider moves (issue 17: axes that rescale between
frames make a slider look as if it changed the data when it changed the scale)."""

from companion.views import vae


def test_vae_rate_distortion_axes_are_the_same_for_every_latent_size_and_beta():
    (spec,) = vae.widget_specs()
    limits = set()
    for values in spec.grid():
        _, fig = spec.callback(**values)
        ax = fig.axes[1]
        rate, distortion = ax.lines[0].get_data()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        assert x0 <= rate.min() and rate.max() <= x1 and y0 <= distortion.min() and distortion.max() <= y1
        limits.add((x0, x1, y0, y1))
    assert len(limits) == 1, limits
