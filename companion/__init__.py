"""companion: tested implementations behind the book *Generative Models, Executable*.

One small module per topic; chapters import from here and never redefine a function.

- :mod:`companion.validation` -- the input-checking convention every public function uses.
- :mod:`companion.utils` -- ``set_seed``, and the switches ``scaled`` (train longer) and ``default_device``.
- :mod:`companion.distributions` -- Monte Carlo, KL, Jensen, change of variables (chapter 1).
- :mod:`companion.plotting`, :mod:`companion.widgets` -- figure style; ``WidgetSpec``, the one
  mechanism behind live sliders, kernel-free static twins, widget benchmarks and corner tests.
- :mod:`companion.vae`, :mod:`companion.gan`, :mod:`companion.flows`, :mod:`companion.diffusion`,
  :mod:`companion.guidance` -- one module per family chapter; :mod:`companion.metrics` (MMD,
  energy distance) for scoring samples.
- :mod:`companion.families`, :mod:`companion.capstone` -- the family map and the capstone
  comparison; :mod:`companion.api_index` -- the book's generated API index.

The chapter modules import torch and matplotlib, so they are imported on demand
(``from companion import vae``), not here.
"""

from . import distributions, utils, validation
from .utils import set_seed, start_chapter

__all__ = ["distributions", "utils", "validation", "set_seed", "start_chapter"]
__version__ = "0.1.0"
