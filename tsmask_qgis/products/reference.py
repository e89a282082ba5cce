"""Plain numpy references of the composite methods, written from their definitions.

Slow (a Python loop over pixels): the tests check the kernels against them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["geomedian_pixel", "medoid_pixel"]


def geomedian_pixel(obs: np.ndarray, *, eps: float = 1e-9, maxiter: int = 100_000) -> np.ndarray:
    """The geometric median of the rows of ``obs`` ``(n, bands)``: the point minimising
    the summed Euclidean distance to them (Weiszfeld's iteration in float64, from the
    mean, until it moves less than ``eps``; a row at the estimate is left out)."""
    x = np.asarray(obs, np.float64)
    y = x.mean(axis=0)
    if len(x) <= 2:
        return y
    for _ in range(maxiter):
        d = np.linalg.norm(x - y, axis=1)
        keep = d > 1e-12
        if not keep.any():
            return y
        w = 1.0 / d[keep]
        nxt = (w[:, None] * x[keep]).sum(axis=0) / w.sum()
        if np.linalg.norm(nxt - y) < eps:
            return nxt
        y = nxt
    return y


def medoid_pixel(obs: np.ndarray) -> np.ndarray:
    """The row of ``obs`` with the least summed Euclidean distance to the others."""
    x = np.asarray(obs, np.float64)
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2).sum(axis=1)
    return x[int(np.argmin(d))]


def summed_distance(obs: np.ndarray, y: np.ndarray) -> float:
    """The objective the geometric median minimises."""
    return float(np.linalg.norm(np.asarray(obs, np.float64) - y, axis=1).sum())
