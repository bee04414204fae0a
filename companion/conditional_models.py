r"""The guidance chapter's networks: a conditional noise predictor trained with label dropout, and a
classifier of noisy inputs (chapter ``ch-guidance``).

A null label (``n_classes``) makes the conditional denoiser unconditional, so one network gives
both predictions classifier-free guidance combines (Ho & Salimans, 2022); the noisy classifier
supplies :math:`\nabla\log p_t(c \mid x)` for classifier guidance (Dhariwal & Nichol, 2021).
"""

from __future__ import annotations

import torch
from torch import nn

from .diffusion import q_sample, timestep_embedding
from .labelled_mixture import _check_labels
from .networks import mlp
from .schedules import _check_t
from .training import fit
from .validation import check_array, check_in_range, check_int, check_scalar

__all__ = ["ConditionalDenoiser", "train_conditional_denoiser", "NoisyClassifier",
           "train_noisy_classifier"]


def _steps(t: torch.Tensor | int, batch: int, T: int | None = None) -> torch.Tensor:
    if isinstance(t, int) and not isinstance(t, bool):
        t = torch.full((batch,), t, dtype=torch.long)
    return t if T is None else _check_t(t, T, batch)  # type: ignore[return-value]  # an error names t


class ConditionalDenoiser(nn.Module):
    r"""A small MLP :math:`\hat\epsilon_\theta(x_t, t, c)` with a learned *null label* :math:`\varnothing`.

    The label is embedded from ``n_classes + 1`` rows: rows ``0..K-1`` are the classes and
    row ``K`` (:attr:`null_label`) is "no label". Trained with label dropout
    (:func:`train_conditional_denoiser`), one network gives both predictions that
    :func:`cfg_combine` needs.

    Args:
        n_classes: number of classes ``K``.
        T: number of diffusion steps (``t`` is checked to lie in ``0 .. T-1``; the embedding takes the
            raw index).
        dim: data dimension.
        hidden: hidden width.
        emb: label-embedding width.
    """

    def __init__(self, n_classes: int, T: int, dim: int = 2, hidden: int = 96, emb: int = 8):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", low=1)
        self.null_label = self.n_classes
        self.T = check_int(T, "T", low=1)
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        emb = check_int(emb, "emb", low=1)
        self.label_emb = nn.Embedding(self.n_classes + 1, emb)
        self.net = mlp([dim + 16 + emb, hidden, hidden, hidden, dim])

    def forward(self, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, dim); ``t``: int or (batch,) array indices; ``labels``: (batch,) in ``[0, K]``."""
        x = check_array(x, "x", shape=(None, self.dim))
        labels = _check_labels(labels, self.n_classes, x.shape[0], allow_null=True)
        t = _steps(t, x.shape[0], self.T)
        h = torch.cat([x.float(), timestep_embedding(t, 16), self.label_emb(labels)], dim=1)
        return self.net(h).to(x.dtype)


def _check_training_data(x, labels, n_classes):
    x = check_array(x, "x", ndim=2)
    x = torch.as_tensor(x, dtype=torch.float32)
    labels = _check_labels(labels, n_classes, x.shape[0])
    return x, labels


def _check_training_args(n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed):
    """Validate the arguments both training functions share; seed torch; return them and a generator."""
    n_classes = check_int(n_classes, "n_classes", low=1)
    x, labels = _check_training_data(x, labels, n_classes)
    ab = check_array(alphas_cumprod, "alphas_cumprod", ndim=1)
    check_in_range(ab, "alphas_cumprod", 0.0, 1.0, closed=(False, True))
    ab = torch.as_tensor(ab, dtype=torch.float32)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, closed=(False, True))
    seed = check_int(seed, "seed", low=0)
    torch.manual_seed(seed)
    return n_classes, x, labels, ab, steps, batch_size, lr, torch.Generator().manual_seed(seed)


def train_conditional_denoiser(x: torch.Tensor, labels: torch.Tensor, n_classes: int,
                               alphas_cumprod: torch.Tensor, *, p_uncond: float = 0.2,
                               steps: int = 1500, batch_size: int = 256, lr: float = 3e-3,
                               hidden: int = 96, seed: int = 0, device: str = "cpu",
                               progress: bool = True) -> tuple[ConditionalDenoiser, dict]:
    r"""Train one network for both predictions: denoising loss with label dropout, equation ``eq-cfg-loss``.

    .. math:: \mathcal L(\theta) = \E_{x_0, c, t, \epsilon, \delta}\,
              \big\| \epsilon
              - \hat\epsilon_\theta\big(x_t,\ t,\ \delta\,\varnothing + (1-\delta)\,c\big) \big\|^2,
              \quad \delta \sim \mathrm{Bernoulli}(p_\text{uncond}).

    Args:
        x: clean data, shape ``(n, d)``.
        labels: their classes, ``(n,)`` in ``[0, n_classes)``.
        n_classes: number of classes ``K``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``.
        p_uncond: probability of replacing a label by the null label, in [0, 1].
        steps, batch_size, lr, hidden: optimisation settings (Adam, cosine-decayed rate).
        seed: seeds the initialisation and the batches.
        device: torch device.
        progress: show a progress bar.

    Returns:
        ``(model, history)`` with ``history["loss"]`` the loss of every step.
    """
    n_classes, x, labels, ab, steps, batch_size, lr, g = _check_training_args(
        n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed)
    p_uncond = check_scalar(p_uncond, "p_uncond", low=0.0, high=1.0)
    model = ConditionalDenoiser(n_classes, len(ab), x.shape[1], hidden=hidden).to(device)
    x, labels, ab = x.to(device), labels.to(device), ab.to(device)

    def step_loss(step: int, g: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=g).to(device)
        t = torch.randint(0, len(ab), (batch_size,), generator=g).to(device)
        eps = torch.randn(batch_size, x.shape[1], generator=g).to(device)
        drop = torch.rand(batch_size, generator=g).to(device) < p_uncond
        c = torch.where(drop, torch.full_like(labels[idx], n_classes), labels[idx])
        xt = q_sample(x[idx], t, eps, ab)
        return ((model(xt, t, c) - eps) ** 2).sum(1).mean()

    history = fit(model.parameters(), step_loss, steps=steps, lr=lr, generator=g, decay_to=0.0,
                  progress=progress, desc="denoiser")
    model.eval()
    return model, {"loss": history["loss"]}


class NoisyClassifier(nn.Module):
    r"""A small MLP classifier :math:`p_\psi(c \mid x_t, t)` on noised inputs, for classifier guidance.

    Args:
        n_classes: number of classes ``K``.
        T: number of diffusion steps.
        dim: data dimension.
        hidden: hidden width.
    """

    def __init__(self, n_classes: int, T: int, dim: int = 2, hidden: int = 64):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", low=1)
        self.T = check_int(T, "T", low=1)
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.net = mlp([dim + 16, hidden, hidden, self.n_classes])

    def forward(self, x: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """Log-probabilities of every class, shape ``(batch, K)``."""
        x = check_array(x, "x", shape=(None, self.dim))
        t = _steps(t, x.shape[0], self.T)
        logits = self.net(torch.cat([x.float(), timestep_embedding(t, 16)], dim=1))
        return torch.log_softmax(logits, dim=1).to(x.dtype)


def train_noisy_classifier(x: torch.Tensor, labels: torch.Tensor, n_classes: int,
                           alphas_cumprod: torch.Tensor, *, steps: int = 600, batch_size: int = 256,
                           lr: float = 3e-3, hidden: int = 64, seed: int = 0, device: str = "cpu",
                           progress: bool = True) -> tuple[NoisyClassifier, dict]:
    r"""Train :math:`p_\psi(c\mid x_t, t)` by cross-entropy on noised data (``eq-classifier-guidance``).

    .. math::
        \mathcal L(\psi) = -\E_{x_0, c, t, \epsilon}
        \log p_\psi\big(c \mid \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t\big)

    The minimiser is the noised posterior :math:`p_t(c\mid x)` of :func:`class_log_posterior`.

    Returns:
        ``(classifier, history)`` with ``history["loss"]`` per step.
    """
    n_classes, x, labels, ab, steps, batch_size, lr, g = _check_training_args(
        n_classes, x, labels, alphas_cumprod, steps, batch_size, lr, seed)
    clf = NoisyClassifier(n_classes, len(ab), x.shape[1], hidden=hidden).to(device)
    x, labels, ab = x.to(device), labels.to(device), ab.to(device)

    def step_loss(step: int, g: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=g).to(device)
        t = torch.randint(0, len(ab), (batch_size,), generator=g).to(device)
        eps = torch.randn(batch_size, x.shape[1], generator=g).to(device)
        xt = q_sample(x[idx], t, eps, ab)
        return -clf(xt, t).gather(1, labels[idx][:, None]).mean()

    history = fit(clf.parameters(), step_loss, steps=steps, lr=lr, generator=g, progress=progress,
                  desc="classifier")
    clf.eval()
    return clf, {"loss": history["loss"]}
