"""companion: tested implementations behind the book *Generative Models, Executable*.

One module per concept, each readable on its own; chapters import from here and never
redefine a function. The README's "Where things are" maps each concept to its module and
chapters. In outline:

- foundations: :mod:`~companion.distributions`, :mod:`~companion.f_divergences`,
  :mod:`~companion.change_of_variables`, :mod:`~companion.metrics`, :mod:`~companion.datasets`;
- VAEs: :mod:`~companion.vae`, :mod:`~companion.gradient_estimators`,
  :mod:`~companion.linear_gaussian`, :mod:`~companion.vae_theory`;
- GANs: :mod:`~companion.gan`, :mod:`~companion.gan_theory`;
- flows: :mod:`~companion.flows`, :mod:`~companion.splines`, :mod:`~companion.autoregressive`;
- diffusion: :mod:`~companion.schedules`, :mod:`~companion.diffusion`,
  :mod:`~companion.parameterisations`, :mod:`~companion.mixtures`, :mod:`~companion.samplers`,
  :mod:`~companion.diffusion_theory`;
- flow matching: :mod:`~companion.paths`, :mod:`~companion.flow_matching`, :mod:`~companion.ode`;
- guidance: :mod:`~companion.labelled_mixture`, :mod:`~companion.conditional_models`,
  :mod:`~companion.guidance`, :mod:`~companion.guidance_remedies`;
- the comparison: :mod:`~companion.pf_ode`, :mod:`~companion.capstone`;
- presentation, apart from the mathematics (which never imports it): :mod:`companion.views`
  (each chapter's widgets), :mod:`~companion.widgets` (``WidgetSpec``), :mod:`~companion.plotting`;
- plumbing: :mod:`~companion.validation` (argument checks), :mod:`~companion.utils` (seeds, the
  chapter setup :func:`start_chapter`, training switches).

The book's own tooling (the family map's data, the API page's index) is the separate package
``bookkit``, which imports ``companion`` and never the reverse.

Importing ``companion`` loads only these plumbing modules; a chapter imports the ones it needs
(``from companion import vae as V``).
"""

import importlib

__all__ = ["set_seed", "start_chapter"]
__version__ = "0.1.0"

#: Names available as ``companion.<name>``, imported on first use: ``import companion`` itself loads
#: nothing else (not torch), and ``companion.vae`` imports that module when first reached.
_FUNCTIONS = {"set_seed": "utils", "start_chapter": "utils"}


def __getattr__(name: str):
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
