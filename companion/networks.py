"""The one network every family builds on: a multilayer perceptron, :func:`mlp`.

The book's models are small MLPs: the VAE's encoder and decoder, the GAN's generator and
discriminator, the flows' coupling networks, the noise and velocity predictors, the guidance
chapter's conditional denoiser and noisy classifier. Each is ``mlp(sizes, activation)``; only the
sizes and the activation differ (SiLU for the diffusion-style networks and the VAE, tanh inside
the flows' couplings, leaky ReLU for the GAN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from .validation import check_int

__all__ = ["mlp"]


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.SiLU) -> nn.Sequential:
    """Linear layers from ``sizes[0]`` inputs to ``sizes[-1]`` outputs, ``activation()`` between them.

    ``mlp([2, 64, 64, 1])`` is ``Linear(2, 64), SiLU, Linear(64, 64), SiLU, Linear(64, 1)``: no
    activation after the last layer. The layers are made in order, so a seeded run initialises
    them the same way every time.

    Args:
        sizes: the widths, input first and output last (at least two, each >= 1).
        activation: a function returning a fresh activation module (a class such as ``nn.Tanh``).

    Example:
        >>> mlp([2, 8, 1])
        Sequential(
          (0): Linear(in_features=2, out_features=8, bias=True)
          (1): SiLU()
          (2): Linear(in_features=8, out_features=1, bias=True)
        )
    """
    sizes = [check_int(s, "sizes", low=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output width, got {sizes}")
    if not callable(activation):
        raise TypeError(f"activation: expected a module class or factory, got {type(activation).__name__}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
