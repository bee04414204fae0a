"""The one training loop, companion.training.fit: what each of its options does."""

from __future__ import annotations

import math

import pytest
import torch

from companion.training import fit


def _quadratic(**kw):
    w = torch.nn.Parameter(torch.tensor([3.0, -4.0]))
    seen: list[tuple[int, float]] = []

    def step_loss(step, gen):
        seen.append((step, float(torch.rand((), generator=gen))))
        return (w ** 2).sum(), {"w0": float(w[0].detach())}

    history = fit([w], step_loss, generator=torch.Generator().manual_seed(0), **kw)
    return w, history, seen


def test_history_steps_extras_and_generator():
    w, h, seen = _quadratic(steps=5, lr=0.1, first_step=1)
    assert h["step"] == [1, 2, 3, 4, 5] == [s for s, _ in seen]
    assert list(h) == ["step", "loss", "w0"]
    assert h["loss"][0] == pytest.approx(25.0)            # 3^2 + 4^2 before the first update
    assert h["w0"][0] == 3.0
    # the run's generator is the one passed in: its draws continue from the seed
    g = torch.Generator().manual_seed(0)
    assert [u for _, u in seen] == [float(torch.rand((), generator=g)) for _ in range(5)]


def test_adam_minimises_and_matches_torch_adam():
    w, h, _ = _quadratic(steps=50, lr=0.05)
    ref = torch.nn.Parameter(torch.tensor([3.0, -4.0]))
    opt = torch.optim.Adam([ref], lr=0.05)
    for _ in range(50):
        opt.zero_grad()
        (ref ** 2).sum().backward()
        opt.step()
    assert torch.equal(w.detach(), ref.detach())
    assert h["loss"][-1] < h["loss"][0]


def test_cosine_decay_reaches_the_fraction_asked_for():
    w = torch.nn.Parameter(torch.ones(1))
    steps, lr = 40, 0.1
    ws = []
    fit([w], lambda s, g: w.sum(), steps=steps, lr=lr, decay_to=0.05, generator=torch.Generator(),
        after_step=lambda s, g, h: ws.append(float(w.detach())))
    moves = [a - b for a, b in zip([1.0, *ws[:-1]], ws, strict=True)]
    # Adam on a constant gradient moves by lr_t each step: the schedule itself
    expected = [0.05 * lr + (lr - 0.05 * lr) * (1 + math.cos(math.pi * t / steps)) / 2 for t in range(steps)]
    assert moves == pytest.approx(expected, rel=1e-4)


def test_clip_norm_limits_the_gradient():
    w = torch.nn.Parameter(torch.tensor([0.0]))
    grads = []
    fit([w], lambda s, g: 1000.0 * w.sum(), steps=1, lr=0.1, clip_norm=2.0, generator=torch.Generator(),
        after_step=lambda s, g, h: grads.append(float(w.grad)))
    assert grads == [pytest.approx(2.0)]
