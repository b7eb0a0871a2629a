"""Input distribution shift: teacher-forced versus free-running decoder hidden states.

Exposure bias is a distribution shift: in training the decoder sees states reached from true
inputs, at deployment states reached from its own predictions. The maximum mean discrepancy
(MMD) between the two sets of hidden states, per step, measures that shift directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecastab.errors import ConfigError, DataError


def _squared_distances(points: np.ndarray) -> np.ndarray:
    norms = np.sum(points**2, axis=1)  # (M,)
    distances = norms[:, None] + norms[None, :] - 2.0 * points @ points.T  # (M, M)
    return np.maximum(distances, 0.0)


def _median_bandwidth(distances: np.ndarray) -> float:
    off_diagonal = distances[~np.eye(len(distances), dtype=bool)]
    median = float(np.median(off_diagonal)) if off_diagonal.size else 0.0
    return np.sqrt(median) if median > 0 else 1.0


def _mmd2_from_kernel(kernel: np.ndarray, in_x: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each row of the membership matrix ``in_x`` (P, M) of bools."""
    x = in_x.astype(np.float64)  # (P, M)
    y = 1.0 - x
    m, n = x.sum(axis=1), y.sum(axis=1)  # (P,)
    kx, ky = x @ kernel, y @ kernel  # (P, M)
    diagonal = np.diag(kernel)  # (M,)
    sum_xx = np.sum(kx * x, axis=1) - x @ diagonal
    sum_yy = np.sum(ky * y, axis=1) - y @ diagonal
    sum_xy = np.sum(kx * y, axis=1)
    return sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * sum_xy / (m * n)


def mmd2(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bandwidth: float | None = None,
    n_permutations: int = 0,
    seed: int = 0,
    paired: bool = False,
) -> tuple[float, float]:
    """Unbiased squared MMD between two samples with a Gaussian (RBF) kernel.

    The kernel is ``exp(-|a - b|^2 / (2 sigma^2))`` with ``sigma`` the median pairwise distance
    of the pooled sample unless given. The unbiased estimate is close to 0 (and may be
    slightly negative) when both samples come from one distribution. The permutation p-value
    is the fraction of random relabellings of the pooled sample whose MMD^2 is at least the
    observed one (with the usual +1 correction). When the samples come in pairs (row ``i`` of
    ``x`` and of ``y`` from one origin), ``paired=True`` relabels by swapping the two members
    of each pair with probability 1/2, the permutations that keep the pairs exchangeable under
    the null; relabelling the pooled sample would treat dependent rows as independent.

    Args:
        x: ``(M, D)`` first sample (at least 2 rows).
        y: ``(N, D)`` second sample (at least 2 rows).
        bandwidth: kernel width ``sigma``; median heuristic when None.
        n_permutations: relabellings for the p-value; 0 returns NaN as p-value.
        seed: seed of the permutations.
        paired: ``x`` and ``y`` are paired row by row (equal lengths); swap within pairs.

    Returns:
        ``(mmd2, p_value)``.

    >>> rng = np.random.default_rng(0)
    >>> same, p_same = mmd2(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)),
    ...                     n_permutations=200)
    >>> shifted, p_shifted = mmd2(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0,
    ...                           n_permutations=200)
    >>> bool(abs(same) < 0.02 and p_same > 0.05 and shifted > 0.1 and p_shifted < 0.01)
    True
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x, y = x[:, None], y[:, None]  # (M, 1), (N, 1)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise DataError(
            f"mmd2 needs (M, D) and (N, D) samples, M, N >= 2; got {x.shape}, {y.shape}"
        )
    if paired and len(x) != len(y):
        raise DataError(f"paired samples need equal lengths, got {len(x)} and {len(y)}")
    pooled = np.concatenate([x, y])  # (M+N, D)
    distances = _squared_distances(pooled)  # (M+N, M+N)
    sigma = _median_bandwidth(distances) if bandwidth is None else float(bandwidth)
    if not sigma > 0:
        raise ConfigError(f"bandwidth must be positive, got {bandwidth}")
    kernel = np.exp(-distances / (2.0 * sigma**2))
    in_x = np.arange(len(pooled)) < len(x)  # (M+N,)
    observed = float(_mmd2_from_kernel(kernel, in_x[None, :])[0])
    if n_permutations < 1:
        return observed, float("nan")
    rng = np.random.default_rng(seed)
    if paired:
        swap = rng.random((n_permutations, len(x))) < 0.5  # (P, M) pairs whose labels swap
        permuted = np.concatenate([~swap, swap], axis=1)  # (P, M+N) membership in x
    else:
        permuted = np.stack([rng.permutation(in_x) for _ in range(n_permutations)])  # (P, M+N)
    null = _mmd2_from_kernel(kernel, permuted)  # (P,)
    p_value = (1.0 + np.sum(null >= observed)) / (1.0 + n_permutations)
    return observed, float(p_value)


def mmd_per_step(
    teacher_forced: np.ndarray,
    free_running: np.ndarray,
    *,
    n_permutations: int = 0,
    max_samples: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """MMD^2 between teacher-forced and free-running decoder hidden states at each step.

    Row ``i`` of both inputs comes from the same origin, so the p-values come from the paired
    permutation test (labels swapped within each origin's pair, see :func:`mmd2`).

    Args:
        teacher_forced: ``(N, H, D)`` hidden states under teacher forcing.
        free_running: ``(N, H, D)`` hidden states under free running, same origins in order.
        n_permutations: relabellings for a p-value per step (0: none).
        max_samples: origins used at most (a seeded subset keeps the kernel matrices small).
        seed: seed of the subset and the permutations.

    Returns:
        A frame with columns ``step, mmd2, p_value``.
    """
    teacher_forced = np.asarray(teacher_forced, dtype=np.float64)
    free_running = np.asarray(free_running, dtype=np.float64)
    if teacher_forced.ndim != 3 or teacher_forced.shape != free_running.shape:
        raise DataError(
            f"hidden states must both be (N, H, D) from the same N origins, got "
            f"{teacher_forced.shape} and {free_running.shape}"
        )
    rng = np.random.default_rng(seed)
    if len(teacher_forced) > max_samples:
        # One subset of origins for both modes keeps the pairs together.
        subset = rng.choice(len(teacher_forced), max_samples, False)
        teacher_forced, free_running = teacher_forced[subset], free_running[subset]
    rows = [
        mmd2(
            teacher_forced[:, h],
            free_running[:, h],
            n_permutations=n_permutations,
            seed=seed,
            paired=True,
        )
        for h in range(teacher_forced.shape[1])
    ]
    values = np.array(rows).reshape(-1, 2)  # (H, 2)
    return pd.DataFrame(
        {"step": np.arange(1, len(values) + 1), "mmd2": values[:, 0], "p_value": values[:, 1]}
    )


def hidden_state_shift(
    module: Any,
    contexts: np.ndarray,
    targets: np.ndarray,
    *,
    n_permutations: int = 0,
    max_samples: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-step MMD^2 between a model's decoder states under teacher forcing and free running.

    Rolls the module's network out twice through :func:`forecastab.teacher_forcing.rollout`
    (ratio 1 with the true targets, ratio 0) with ``return_hidden=True``, then compares the
    hidden states step by step with :func:`mmd_per_step`.

    Args:
        module: a ``ForecastModule`` (its network in ``.network``) or an autoregressive network.
        contexts: ``(N, L, C)`` contexts, scaled units.
        targets: ``(N, H, C)`` the true continuations, scaled units.
        n_permutations: relabellings for p-values (0: none).
        max_samples: origins used at most in the MMD.
        seed: seed of the subset and the permutations.

    Returns:
        A frame with columns ``step, mmd2, p_value``.

    Raises:
        ConfigError: the network is not autoregressive (the direct control has no decoder).
    """
    import torch

    from forecastab.teacher_forcing import rollout

    network = getattr(module, "network", module)
    if not getattr(network, "autoregressive", True):
        raise ConfigError("hidden_state_shift needs an autoregressive network, not the direct one")
    device = next(network.parameters()).device
    context = torch.as_tensor(np.asarray(contexts), dtype=torch.float32, device=device)  # (N, L, C)
    target = torch.as_tensor(np.asarray(targets), dtype=torch.float32, device=device)  # (N, H, C)
    horizon = target.shape[1]
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            forced = rollout(
                network, context, horizon, targets=target, ratio=1.0, return_hidden=True
            )
            free = rollout(network, context, horizon, targets=target, ratio=0.0, return_hidden=True)
    finally:
        network.train(was_training)
    return mmd_per_step(
        forced.hidden.cpu().numpy(),
        free.hidden.cpu().numpy(),
        n_permutations=n_permutations,
        max_samples=max_samples,
        seed=seed,
    )
