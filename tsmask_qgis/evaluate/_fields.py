"""Smooth random fields and sun geometry for the synthetic scenes (:mod:`.synthetic`)."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "COARSE",
    "date_cloud_fractions",
    "noise_fields",
    "spectral_filter",
    "sun_position",
    "upsample",
]

#: Cloud fields are synthesised on a grid this many times coarser than the pixels.
COARSE = 4


def spectral_filter(shape: tuple[int, int], scale: float, slope: float) -> np.ndarray:
    """Amplitude filter for rfft2 noise: blobs of about ``scale`` px with fractal edges."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    k2 = ky * ky + kx * kx
    amp = (1.0 + k2 * (scale * scale)) ** (-slope / 2.0)
    amp[0, 0] = 0.0
    return amp


def noise_fields(
    rng: np.random.Generator, n: int, shape: tuple[int, int], scale: float, slope: float = 1.6
) -> np.ndarray:
    """``n`` independent smooth Gaussian fields with zero mean and unit variance."""
    amp = spectral_filter(shape, scale, slope)
    spec = rng.standard_normal((n, *amp.shape)) + 1j * rng.standard_normal((n, *amp.shape))
    out = np.fft.irfft2(spec * amp, s=shape, axes=(-2, -1))
    out -= out.mean(axis=(-2, -1), keepdims=True)
    std = out.std(axis=(-2, -1), keepdims=True)
    out /= np.where(std > 0, std, 1.0)
    return out.astype(np.float32)


def upsample(coarse: np.ndarray, r0: float, c0: float, ny: int, nx: int) -> np.ndarray:
    """Bilinear samples of a coarse grid at fine pixels ``r0 + i``, ``c0 + j`` (coarse units x4)."""
    hc, wc = coarse.shape
    u = (r0 + np.arange(ny)) / COARSE
    v = (c0 + np.arange(nx)) / COARSE
    i0 = np.clip(np.floor(u).astype(np.intp), 0, hc - 2)
    j0 = np.clip(np.floor(v).astype(np.intp), 0, wc - 2)
    wu = (u - i0).astype(np.float32)[:, None]
    wv = (v - j0).astype(np.float32)[None, :]
    rows = coarse[i0] * (1 - wu) + coarse[i0 + 1] * wu  # (ny, wc)
    return rows[:, j0] * (1 - wv) + rows[:, j0 + 1] * wv


def sun_position(doy: np.ndarray, latitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Sun azimuth (degrees clockwise from north) and elevation at 10:30 local solar time."""
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    lat = math.radians(latitude)
    hour_angle = math.radians(-22.5)  # 1.5 h before noon
    sin_el = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * math.cos(hour_angle)
    el = np.arcsin(np.clip(sin_el, -1, 1))
    cos_az = (np.sin(decl) - np.sin(el) * math.sin(lat)) / (np.cos(el) * math.cos(lat))
    az = np.degrees(np.arccos(np.clip(cos_az, -1, 1)))  # morning: sun in the east half
    return az, np.degrees(el)


def date_cloud_fractions(rng: np.random.Generator, n: int, cloud_amount: float) -> np.ndarray:
    """Per-date cloud fractions with mean ``cloud_amount``: many clear, some overcast dates."""
    if cloud_amount <= 0.0:
        return np.zeros(n)
    if cloud_amount >= 1.0:
        return np.ones(n)
    kappa = 1.2
    return rng.beta(cloud_amount * kappa, (1.0 - cloud_amount) * kappa, size=n)
