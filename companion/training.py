r"""The book's one training loop: :func:`fit`.

Every family that minimises a single loss trains through :func:`fit`: the VAE (negative ELBO),
the flows (negative log-likelihood), the diffusion and guidance networks (denoising and
classification losses) and flow matching (the conditional flow-matching loss). Each family's
``train_*`` function checks its arguments, then hands :func:`fit` a *step loss*: a function of
the step number and the run's ``torch.Generator`` that draws that step's minibatch and noise and
returns the loss. :func:`fit` owns the rest, the same for all: Adam, an optional cosine decay of
the learning rate, optional gradient clipping, the progress bar, and the history.

The GAN is the exception: two players, two optimisers, alternating steps
(:func:`companion.gan.train_gan` keeps its own loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Union

import torch

from .validation import check_int, check_scalar

__all__ = ["fit"]

#: What a step loss returns: the loss, or the loss and numbers to log with it (one per step).
StepResult = Union[torch.Tensor, tuple[torch.Tensor, dict[str, object]]]


def fit(params: Iterable[torch.nn.Parameter], step_loss: Callable[[int, torch.Generator], StepResult], *,
        steps: int, lr: float, generator: torch.Generator, first_step: int = 0,
        decay_to: float | None = None, clip_norm: float | None = None,
        after_step: Callable[[int, torch.Generator, dict[str, list]], None] | None = None,
        progress: bool = False, desc: str = "training") -> dict[str, list]:
    r"""Minimise ``step_loss`` over ``params`` with Adam, for ``steps`` steps.

    Each step: ``loss = step_loss(step, generator)`` (which draws its own minibatch from
    ``generator``), a backward pass, gradient clipping to norm ``clip_norm`` if given, one Adam
    step, and, with ``decay_to``, one step of a cosine decay of the learning rate from ``lr``
    to ``decay_to * lr`` over the run. Then ``after_step(step, generator, history)``, if given
    (a held-out evaluation, say).

    The arguments are checked once, before the first step; the step loss is the caller's.

    Args:
        params: the parameters to train (a model's ``parameters()``).
        step_loss: ``(step, generator) -> loss`` or ``-> (loss, extras)``, ``extras`` a dict of
            numbers logged under their names in the history.
        steps: the number of steps; the step numbers run from ``first_step``.
        lr: Adam's learning rate.
        generator: the run's random-number generator, passed to ``step_loss``.
        first_step: the number of the first step (the VAE counts from 1).
        decay_to: the final learning rate, as a fraction of ``lr`` (cosine decay); ``None``: constant.
        clip_norm: clip the gradient's total norm to this before each step; ``None``: no clipping.
        after_step: called after each optimiser step with the step, the generator and the history.
        progress: show a ``tqdm`` progress bar labelled ``desc``.

    Returns:
        the history: ``"step"`` and ``"loss"`` (a float per step), and every key of ``extras``.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([3.0]))
        >>> h = fit([w], lambda step, gen: (w ** 2).sum(), steps=200, lr=0.1,
        ...         generator=torch.Generator().manual_seed(0))
        >>> len(h["loss"]), abs(float(w.detach())) < 0.1
        (200, True)
    """
    from tqdm.auto import tqdm

    params = list(params)
    if not params or not all(isinstance(p, torch.Tensor) for p in params):
        raise ValueError("params: expected a non-empty iterable of tensors (a model's parameters())")
    if not callable(step_loss):
        raise TypeError("step_loss: expected a function (step, generator) -> loss, "
                        f"got {type(step_loss).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    steps = check_int(steps, "steps", low=1)
    first_step = check_int(first_step, "first_step", low=0)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    if decay_to is not None:
        decay_to = check_scalar(decay_to, "decay_to", low=0.0, high=1.0)
    if clip_norm is not None:
        clip_norm = check_scalar(clip_norm, "clip_norm", low=0.0, closed=(False, True))
    # foreach: the same Adam update, bit for bit, in fewer calls
    opt = torch.optim.Adam(params, lr=lr, foreach=True)
    sched = (None if decay_to is None
             else torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=decay_to * lr))
    history: dict[str, list] = {"step": [], "loss": []}
    for step in tqdm(range(first_step, first_step + steps), disable=not progress, desc=desc):
        result = step_loss(step, generator)
        loss, extras = result if isinstance(result, tuple) else (result, {})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        opt.step()
        if sched is not None:
            sched.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
        for key, value in extras.items():
            history.setdefault(key, []).append(value)
        if after_step is not None:
            after_step(step, generator, history)
    return history
