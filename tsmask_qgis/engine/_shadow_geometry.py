"""The geometry of cloud shadow: where a cloud at a given height casts its shadow.

Grid steps in metres, the shadow direction from the sun's azimuth and
elevation, the candidate pixel offsets over a range of cloud heights, and the
margin an area needs so that clouds outside it can cast their shadows in
(docs/shadow_geometry.md). :mod:`tsmask_qgis.engine.shadow` re-exports these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Candidates",
    "ShadowParams",
    "candidate_offsets",
    "crop_margin",
    "grid_steps",
    "margin_pixels",
    "series_margin_m",
    "shadow_direction",
    "shadow_margin_m",
]


@dataclass(frozen=True)
class ShadowParams:
    """Constants of the shadow-geometry step, each with its physical reason.

    The defaults are not fitted to any scene; ``docs/accuracy.md`` reports how
    the results move when each is halved or doubled.
    """

    #: Lowest cloud (base) height searched, metres. Fog lifts into low stratus a
    #: few hundred metres up; below this a cloud and its shadow touch.
    min_height: float = 200.0
    #: Highest cloud height searched, metres: the tropopause at mid-latitudes,
    #: where the anvils of the tallest storms flatten out.
    max_height: float = 12000.0
    #: A pixel-date is *dark* when its six-band mean ``sa`` is below
    #: ``(1 - shadow_drop)`` times each of its two nearest clear dates. 0.4: a
    #: pixel is shadow when at least half of the direct sunlight is blocked;
    #: under a clear sky 10-20 % of the light on the ground is diffuse
    #: skylight, so that halving darkens the pixel by 0.5 x (0.8 .. 0.9) =
    #: 0.40 .. 0.45. Clear land changes far less between neighbouring dates.
    shadow_drop: float = 0.4
    #: Dates with the sun lower than this (degrees) are left as detected: shadows
    #: are longer than 5.7 times the cloud height and merge with terrain shading.
    min_sun_elevation: float = 10.0
    #: Cloud objects smaller than this (pixels) are not matched (their footprint
    #: is too small to tell a shadow from chance darkness along a long search);
    #: they still count when deciding which pixels a cloud can reach. 9: a 3x3
    #: block, the smallest object both presets' spatial steps keep reliably.
    min_cloud_pixels: int = 9
    #: Detected shadow (class 3 from the preset) that the darkness test says is
    #: not dark (its ``sa`` is not below ``1 - shadow_drop`` times one of its two
    #: nearest clear dates) becomes clear: ground as bright as on its clear
    #: dates is not in a shadow. This also undoes seed's one-pixel shadow
    #: buffer (use ``buffer_m(shadow_m=...)`` for a buffer). ``False`` keeps the
    #: preset's shadow wherever a cloud can reach it.
    recheck_detected: bool = True

    def __post_init__(self) -> None:
        for name in ("min_height", "max_height", "shadow_drop", "min_sun_elevation"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not 0 <= self.min_height <= self.max_height:
            raise ValueError(
                f"cloud heights must satisfy 0 <= min_height <= max_height, got "
                f"{self.min_height!r} and {self.max_height!r} (metres)"
            )
        if not 0.0 < self.shadow_drop < 1.0:
            raise ValueError(f"shadow_drop must be between 0 and 1, got {self.shadow_drop!r}")
        if not 0.0 < self.min_sun_elevation < 90.0:
            raise ValueError(
                f"min_sun_elevation must be between 0 and 90 degrees, got {self.min_sun_elevation!r}"
            )
        if not isinstance(self.recheck_detected, bool):
            raise ValueError(
                f"recheck_detected must be True or False, got {self.recheck_detected!r}"
            )
        m = self.min_cloud_pixels
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"min_cloud_pixels must be a positive integer, got {m!r}")


def grid_steps(pixel_size: Any) -> tuple[float, float]:
    """``(y_step, x_step)`` in metres, signed as the coordinates run.

    A single number ``p`` is a north-up grid of square pixels: ``(-p, p)``.
    """
    if isinstance(pixel_size, (int, float, np.integer, np.floating)) and not isinstance(
        pixel_size, bool
    ):
        p = float(pixel_size)
        steps = (-p, p)
        if not (math.isfinite(p) and p > 0):
            raise ValueError(f"pixel_size must be a positive number of metres, got {pixel_size!r}")
        return steps
    try:
        ys, xs = (float(v) for v in pixel_size)
    except (TypeError, ValueError):
        raise ValueError(
            "pixel_size must be a number (metres, north-up) or (y_step, x_step) in metres, "
            f"got {pixel_size!r}"
        ) from None
    if not (math.isfinite(ys) and math.isfinite(xs) and ys != 0 and xs != 0):
        raise ValueError(f"pixel steps must be finite and non-zero, got {pixel_size!r}")
    return ys, xs


def shadow_direction(azimuth: float, elevation: float, pixel_size: Any) -> tuple[float, float]:
    """Rows and columns the shadow moves per metre of cloud height.

    The shadow lies opposite the sun's azimuth (clockwise from north), at a
    ground distance of ``height / tan(elevation)``.
    """
    ys, xs = grid_steps(pixel_size)
    run = 1.0 / math.tan(math.radians(elevation))
    az = math.radians(azimuth)
    east = -math.sin(az) * run
    north = -math.cos(az) * run
    return north / ys, east / xs


@dataclass(frozen=True)
class Candidates:
    """The heights searched on one date and the offsets (rows, cols) they give.

    ``offsets[k]`` is the shift from a cloud pixel to its shadow for
    ``heights[k]``; consecutive offsets differ by one pixel along the major
    axis. ``steps`` are the distinct moves ``offsets[k] - offsets[k-1]`` and
    ``step_of[k]`` indexes them (``step_of[0]`` is unused).
    """

    heights: np.ndarray
    offsets: np.ndarray
    steps: np.ndarray
    step_of: np.ndarray


def _round_half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5)


def candidate_offsets(
    azimuth: float, elevation: float, pixel_size: Any, params: ShadowParams | None = None
) -> Candidates:
    """The candidate heights and shadow offsets of a date (docs/shadow_geometry.md).

    With ``u`` the (rows, cols) per metre from :func:`shadow_direction` and
    ``m = max(|u_rows|, |u_cols|)``, the heights are ``j / m`` for every
    integer ``j`` from ``ceil(min_height * m)`` to ``floor(max_height * m)``:
    the shadow moves exactly one pixel along the major axis per step. The
    major offset is ``j`` (signed), the minor ``floor(j * u_minor / m + 0.5)``.
    """
    p = params or ShadowParams()
    ur, uc = shadow_direction(azimuth, elevation, pixel_size)
    m = max(abs(ur), abs(uc))
    if not math.isfinite(m) or m == 0.0:
        return Candidates(
            heights=np.array([p.min_height]),
            offsets=np.zeros((1, 2), np.int64),
            steps=np.zeros((0, 2), np.int64),
            step_of=np.zeros(1, np.int64),
        )
    j0 = math.ceil(p.min_height * m)
    j1 = math.floor(p.max_height * m)
    if j1 < j0:  # the whole range moves the shadow by less than one pixel
        js = np.array([math.floor(p.min_height * m + 0.5)], dtype=np.float64)
        heights = np.array([p.min_height])
    else:
        js = np.arange(j0, j1 + 1, dtype=np.float64)
        heights = js / m
    rows_major = abs(ur) >= abs(uc)
    major_sign = math.copysign(1.0, ur if rows_major else uc)
    ratio = (uc if rows_major else ur) / m
    major = (js * major_sign).astype(np.int64)
    minor = _round_half_up(js * ratio).astype(np.int64)
    offsets = np.stack([major, minor] if rows_major else [minor, major], axis=1)
    moves = np.diff(offsets, axis=0)
    if moves.size and np.abs(moves).max() > 1:
        raise AssertionError("candidate offsets must move by one pixel per step")  # by construction
    steps, inverse = (
        np.unique(moves, axis=0, return_inverse=True)
        if moves.size
        else (np.zeros((0, 2), np.int64), np.zeros(0, np.int64))
    )
    step_of = np.concatenate([[0], np.asarray(inverse).ravel()]).astype(np.int64)
    return Candidates(
        heights=heights,
        offsets=np.ascontiguousarray(offsets, dtype=np.int64),
        steps=np.ascontiguousarray(steps, dtype=np.int64),
        step_of=step_of,
    )


def shadow_margin_m(max_height: float = 12000.0, min_sun_elevation: float = 10.0) -> float:
    """The longest cloud-to-shadow distance (metres): ``max_height / tan(min_sun_elevation)``.

    Load this much around the area (clouds outside it can cast shadows in, and
    a pixel whose sunward ray stays inside the loaded data can be judged), run
    detection and the shadow step on the larger grid, then crop.
    """
    if not (math.isfinite(max_height) and max_height >= 0):
        raise ValueError(f"max_height must be a non-negative number of metres, got {max_height!r}")
    if not 0.0 < min_sun_elevation <= 90.0:
        raise ValueError(f"min_sun_elevation must be in (0, 90] degrees, got {min_sun_elevation!r}")
    if min_sun_elevation == 90.0:
        return 0.0
    return float(max_height / math.tan(math.radians(min_sun_elevation)))


def series_margin_m(elevations: Any, params: ShadowParams | None = None) -> float:
    """:func:`shadow_margin_m` for a series: its lowest sun among the dates the step runs on."""
    p = params or ShadowParams()
    el = np.asarray(elevations, dtype=np.float64)
    used = el[np.isfinite(el) & (el >= p.min_sun_elevation)]
    if used.size == 0:
        return 0.0
    return shadow_margin_m(p.max_height, float(min(90.0, used.min())))


def margin_pixels(margin_m: float, pixel_size: Any) -> tuple[int, int]:
    """Pixels (rows, cols) that cover ``margin_m`` metres on each side."""
    ys, xs = grid_steps(pixel_size)
    if not (math.isfinite(margin_m) and margin_m >= 0):
        raise ValueError(f"margin must be a non-negative number of metres, got {margin_m!r}")
    return math.ceil(margin_m / abs(ys) - 1e-9), math.ceil(margin_m / abs(xs) - 1e-9)


def crop_margin(data: Any, margin: int | tuple[int, int]) -> Any:
    """``data`` without ``margin`` pixels (rows, cols) on each side of its last two axes.

    Works on numpy arrays and on DataArrays with ``y``/``x`` dims (coordinates
    follow).
    """
    my, mx = (margin, margin) if isinstance(margin, (int, np.integer)) else margin
    my, mx = int(my), int(mx)
    if my < 0 or mx < 0:
        raise ValueError(f"margin must be non-negative, got {margin!r}")
    ny, nx = data.shape[-2], data.shape[-1]
    if 2 * my >= ny or 2 * mx >= nx:
        raise ValueError(f"a margin of {(my, mx)} pixels leaves nothing of a {ny} x {nx} grid")
    if hasattr(data, "isel") and "y" in getattr(data, "dims", ()):
        return data.isel(y=slice(my, ny - my), x=slice(mx, nx - mx))
    return data[..., my : ny - my, mx : nx - mx]
