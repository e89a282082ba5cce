"""The two presets of algorithm.md as frozen dataclasses.

``get_preset("seed", cloud_spike=0.4)`` returns a copy with one threshold
changed; unknown names are rejected with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from tsmask_qgis.errors import ParameterError

__all__ = [
    "DEA",
    "SEED",
    "THIN_CLOUD_MODES",
    "DeaPreset",
    "Preset",
    "SeedPreset",
    "get_preset",
    "preset_names",
]

#: seed's ``thin_cloud`` choices: the notebook's spectral rule (default), the same rule
#: confirmed against the date's clear neighbours in time, or no thin-cloud rule.
THIN_CLOUD_MODES = ("spectral", "temporal", "off")


@dataclass(frozen=True)
class SeedPreset:
    """``seed``: the original time-series method the notebook ran.

    Thresholds are on reflectance 0..1 (``sa`` is the six-band mean).
    """

    name: ClassVar[str] = "seed"
    #: ``sa`` above this on an observed date is bright cloud (step 2).
    brightness: float = 0.45
    #: Relative rise of a window over its neighbours that makes it cloud.
    cloud_spike: float = 0.42
    #: Relative drop of a window below its neighbours that makes it shadow.
    shadow_spike: float = 0.42
    #: A cloud window must be brighter than this.
    cloud_floor: float = 0.10
    #: A shadow window must be darker than this.
    shadow_ceiling: float = 0.055
    #: A neighbour counts only if its ``sa`` is above this or its mndwi above ``dark_mndwi``.
    dark_sa: float = 0.055
    dark_mndwi: float = 0.0
    #: Window sizes of the spike test passes, in order.
    passes: tuple[int, ...] = (1, 1, 1, 2, 2, 3, 1)
    # Post rules (each tests the label from before any post rule ran).
    #: shadow with mndwi above ``dwi`` and sa below ``thd`` is dark water: clear.
    dwi: float = -0.05
    thd: float = 0.05
    #: cloud with mndwi below ``land_cloud`` is bright bare ground: clear.
    land_cloud: float = -0.38
    #: shadow with msavi below ``avi`` and mndwi above ``wtd`` is water: clear.
    avi: float = 0.06
    wtd: float = -0.2
    #: thin cloud: clear with wbi < thin_wbi, thin_rgm_low < rgm < thin_rgm_high,
    #: mndwi < thin_mndwi and grbm < thin_grbm becomes cloud.
    thin_wbi: float = -0.02
    thin_rgm_low: float = 0.06
    thin_rgm_high: float = 0.29
    thin_mndwi: float = -0.1
    thin_grbm: float = 0.2
    #: Spatial filter: a cloud/shadow pixel with fewer than this many cloud/shadow
    #: pixels in its 3x3 block (itself included) becomes clear.
    filter_min_count: int = 3
    #: The thin-cloud rule: ``"spectral"`` (the notebook's), ``"temporal"`` (it fires
    #: only where blue is more than ``1 + cloud_spike`` times the mean blue of the
    #: date's two nearest clear dates) or ``"off"``. algorithm.md, *Thin cloud*.
    thin_cloud: str = "spectral"

    def __post_init__(self) -> None:
        if self.thin_cloud not in THIN_CLOUD_MODES:
            raise ParameterError(
                f"thin_cloud must be one of {', '.join(THIN_CLOUD_MODES)}, got {self.thin_cloud!r}",
                field="overrides",
            )


@dataclass(frozen=True)
class DeaPreset:
    """``dea``: the production form published as DEA's ``s2_tsmask`` product (the default)."""

    name: ClassVar[str] = "dea"
    brightness: float = 0.45
    cloud_spike: float = 0.63
    shadow_spike: float = 0.63
    cloud_floor: float = 0.14
    shadow_ceiling: float = 0.055
    dark_sa: float = 0.055
    dark_mndwi: float = 0.0
    passes: tuple[int, ...] = (1, 1, 2, 2, 3)
    dwi: float = -0.05
    thd: float = 0.05
    #: cloud with sa below ``cloud2`` becomes clear.
    cloud2: float = 0.05
    land_cloud: float = -0.38
    avi: float = 0.06
    wtd: float = -0.2
    #: Majority filter: how many times it runs, and the neighbour count it needs
    #: to exceed to flip the centre.
    majority_passes: int = 2
    majority_min_count: int = 6


Preset = SeedPreset | DeaPreset

SEED = SeedPreset()
DEA = DeaPreset()

_PRESETS: dict[str, Preset] = {"seed": SEED, "dea": DEA}


def preset_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_preset`."""
    return tuple(_PRESETS)


def get_preset(preset: str | Preset = "dea", **overrides: object) -> Preset:
    """A preset by name (or as given), with thresholds overridden by keyword.

    >>> get_preset("dea", cloud_spike=0.5).cloud_spike
    0.5
    """
    if isinstance(preset, str):
        try:
            base = _PRESETS[preset.lower()]
        except KeyError:
            raise ParameterError(
                f"unknown preset {preset!r}: use one of {', '.join(_PRESETS)}", field="preset"
            ) from None
    elif isinstance(preset, (SeedPreset, DeaPreset)):
        base = preset
    else:
        raise TypeError(f"preset must be a name or a preset object, not {type(preset).__name__}")
    if not overrides:
        return base
    valid = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ParameterError(
            f"unknown threshold(s) {', '.join(unknown)} for preset {base.name!r}; "
            f"valid names: {', '.join(sorted(valid))}",
            field="overrides",
        )
    if "passes" in overrides:
        overrides["passes"] = _passes(overrides["passes"])
    for name, value in overrides.items():
        kind = type(getattr(base, name))
        if name != "passes" and kind is not str:  # words are checked by the preset itself
            overrides[name] = _checked(name, value, kind)
    done = dataclasses.replace(base, **overrides)  # type: ignore[arg-type]
    if isinstance(done, SeedPreset) and not done.thin_rgm_low < done.thin_rgm_high:
        raise ParameterError(
            f"thin_rgm_low ({done.thin_rgm_low:g}) must be below thin_rgm_high "
            f"({done.thin_rgm_high:g})",
            field="overrides",
        )
    return done


#: Thresholds on reflectance or a sum of reflectances (0..2).
_REFLECTANCE = frozenset(
    ("brightness", "cloud_floor", "shadow_ceiling", "dark_sa", "thd", "cloud2", "thin_rgm_low")
) | {"thin_rgm_high"}
#: Thresholds on normalised indices (mndwi, msavi: -1..1).
_INDEX = frozenset(("dark_mndwi", "dwi", "land_cloud", "wtd", "thin_mndwi", "avi"))
#: Relative rises and drops (0: any rise or drop counts).
_RELATIVE = frozenset(("cloud_spike", "shadow_spike"))
#: Counts and their ranges (a 3 x 3 block has 9 pixels, 8 neighbours).
_COUNTS = {"filter_min_count": (1, 9), "majority_passes": (0, 20), "majority_min_count": (0, 8)}


def _passes(value: object) -> tuple[int, ...]:
    items: Any = (value,) if isinstance(value, (int, float)) else value
    try:
        passes = tuple(int(n) for n in items)
        exact = all(float(n) == int(n) for n in items)
    except (TypeError, ValueError):
        passes, exact = (), False
    if not passes or not exact or min(passes) < 1:
        raise ParameterError(
            f"passes must be window sizes of 1 or more, e.g. 1,1,2 (got {value!r})",
            field="overrides",
        )
    return passes


def _checked(name: str, value: object, kind: type) -> object:
    """``value`` for threshold ``name`` if it can be meant, else a ``ParameterError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number, got {value!r}", field="overrides")
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}", field="overrides")
    if name in _COUNTS:
        first, last = _COUNTS[name]
        if value != int(value) or not first <= value <= last:
            raise ParameterError(
                f"{name} must be a whole number from {first} to {last}, got {value!r}",
                field="overrides",
            )
        return int(value)
    low: float = -math.inf
    high: float = math.inf
    what = ""
    if name in _REFLECTANCE:
        low, high, what = 0.0, 2.0, "a reflectance"
    elif name in _INDEX:
        low, high, what = -1.0, 1.0, "a normalised index"
    elif name in _RELATIVE:
        low, high, what = 0.0, 10.0, "a relative change"
    if not low <= value <= high:
        raise ParameterError(
            f"{name} is {what} threshold from {low:g} to {high:g}, got {value!r}",
            field="overrides",
        )
    return kind(value) if kind is float else value
