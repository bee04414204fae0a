"""companion: tested implementations behind the book *Generative Models, Executable*.

One small module per topic; chapters import from here and never redefine a function.

- :mod:`companion.validation` -- the input-checking convention every public function uses.
- :mod:`companion.utils` -- ``set_seed``, and the switches ``scaled`` (train longer) and ``default_device``.
- :mod:`companion.distributions` -- Monte Carlo, KL, Jensen, change of variables (chapter 0).
"""

from . import distributions, utils, validation
from .utils import set_seed

__all__ = ["distributions", "utils", "validation", "set_seed"]
__version__ = "0.1.0"
