"""Per-item reflectance harmonisation: digital numbers -> float32 reflectance 0..1.

Sentinel-2 L2A from processing baseline 04.00 (acquisitions from 2022-01-25) stores
``DN = 10000 * reflectance + 1000``; reflectance = (DN + BOA_ADD_OFFSET) / 10000 with
BOA_ADD_OFFSET = -1000. Catalogues describe this differently and not always correctly,
so the offset is decided per item (and asset) from all the evidence the item carries.

Decision rule (``offset_for``), in order:

1. Baseline: ``s2:processing_baseline`` (or ``processing:version``), else the ``_Nxxyy_``
   field of ``s2:product_uri``, else the acquisition date (>= 2022-01-25 means 04.00+).
   A product older than 04.00 never carries an offset: 0, whatever a flag says.
2. Source policy ``"none"`` (DEA ARD, already reflectance x 10000): 0.
3. Source policy ``"baseline"`` (Planetary Computer ships the DNs as produced and declares
   no offset): the asset's own ``raster:bands`` offset if it declares one, else -1000.
4. Source policy ``"metadata"`` (Earth Search Collection 1, custom): the asset's
   ``raster:bands`` scale/offset describe that very file, so they are used. When the
   asset declares nothing, the item is *uncertain*.
5. Source policy ``"verify"`` (Earth Search ``sentinel-2-l2a``): its ``raster:bands``
   says -0.1 on every item and its ``earthsearch:boa_offset_applied`` flag is wrong on
   some items, in both directions, so neither is trusted alone: the item is *uncertain*.

An uncertain item is decided from its pixels (``offset_from_pixels``): with the offset
still in the file a valid DN below 1000 would be a negative reflectance, which real
land, water and shadow almost never give in all six bands; harmonised files have many.
If at least ``DARK_FRACTION`` of the valid pixels are below 1000 DN, the offset has
already been removed (0); if none or almost none are, it is still there (-1000). When
the pixels cannot tell (no valid pixels), the flag breaks the tie (applied -> 0),
and without a flag the baseline rule (-1000) holds.

Numerics: with the Sentinel-2 scale 1/10000 and an integer DN offset the reflectance is
``float32(DN + offset) / 10000`` in float32, exactly as algorithm.md writes it; any other
scale/offset gives ``float32(DN * scale + offset)`` computed in float64. Nodata (the
declared value, 0 for L2A, -999 for DEA) and non-finite values become NaN.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.loaders._sources import Source

__all__ = [
    "BASELINE_04_DATE",
    "DARK_FRACTION",
    "Harmonisation",
    "decide",
    "offset_for",
    "offset_from_pixels",
    "processing_baseline",
    "settle",
    "to_reflectance",
]

log = logging.getLogger(__name__)

#: First acquisitions processed with baseline 04.00.
BASELINE_04_DATE = dt.date(2022, 1, 25)
#: Fraction of valid pixels below 1000 DN that shows the offset was already removed.
DARK_FRACTION = 0.002
#: Sentinel-2 quantification value and offset.
QUANTIFICATION = 10000.0
BOA_ADD_OFFSET = -1000.0


@dataclass(frozen=True)
class Harmonisation:
    """How one asset's DNs become reflectance: ``(DN + offset_dn) * scale``.

    ``offset_dn`` is ``None`` while undecided (to be settled from pixels). ``reason``
    says which rule decided, for logs and ``ds.attrs``.
    """

    scale: float
    offset_dn: float | None
    nodata: float | None
    reason: str

    @property
    def decided(self) -> bool:
        return self.offset_dn is not None


def processing_baseline(item: Any) -> float | None:
    """The item's processing baseline as a number (4.0 for "04.00"), or ``None``."""
    props = item.properties
    for key in ("s2:processing_baseline", "processing:version", "sentinel:processing_baseline"):
        value = props.get(key)
        if value is not None:
            try:
                return float(str(value))
            except ValueError:
                pass
    uri = str(props.get("s2:product_uri", "") or "")
    m = re.search(r"_N(\d{2})(\d{2})_", uri)
    if m:
        return float(f"{m.group(1)}.{m.group(2)}")
    return None


def _acquired(item: Any) -> dt.date | None:
    when = item.datetime or item.common_metadata.start_datetime
    return when.date() if when is not None else None


def _raster_band(item: Any, asset_key: str) -> dict[str, Any]:
    asset = item.assets.get(asset_key)
    if asset is None:
        return {}
    bands = asset.extra_fields.get("raster:bands")
    if isinstance(bands, list) and bands and isinstance(bands[0], dict):
        return bands[0]
    return {}


def offset_for(item: Any, asset_key: str, *, policy: str, nodata: float | None) -> Harmonisation:
    """Decide how to turn the DNs of ``item``'s ``asset_key`` into reflectance.

    See the module docstring for the rule. ``nodata`` is the source's default, used
    when the asset does not declare one.
    """
    rb = _raster_band(item, asset_key)
    declared_scale = rb.get("scale")
    declared_offset = rb.get("offset")
    nd = rb.get("nodata", nodata)
    scale = float(declared_scale) if declared_scale not in (None, 0) else 1.0 / QUANTIFICATION
    declared_dn = None
    if declared_offset is not None:
        declared_dn = float(declared_offset) / scale

    if policy == "none":
        return Harmonisation(scale, 0.0, nd, "product is harmonised reflectance (no offset)")
    baseline = processing_baseline(item)
    if baseline is None:
        when = _acquired(item)
        if when is not None and when < BASELINE_04_DATE:
            return Harmonisation(scale, 0.0, nd, f"acquired {when}, before baseline 04.00")
    elif baseline < 4.0:
        return Harmonisation(scale, 0.0, nd, f"baseline {baseline:05.2f} has no offset")

    if policy == "baseline":
        if declared_dn:
            return Harmonisation(scale, declared_dn, nd, "asset raster:bands offset")
        return Harmonisation(scale, BOA_ADD_OFFSET, nd, "baseline 04.00+ offset -1000")
    if policy == "metadata" and declared_offset is not None:
        return Harmonisation(scale, declared_dn, nd, "asset raster:bands offset")
    return Harmonisation(scale, None, nd, "uncertain: decided from pixels")


def offset_from_pixels(
    dn: np.ndarray, nodata: float | None, *, flag_applied: bool | None = None
) -> tuple[float, str]:
    """Settle an uncertain offset from an item's raw DNs (any shape, all six bands).

    Returns ``(offset_dn, reason)``; see the module docstring.
    """
    valid = np.isfinite(dn)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        valid &= dn != nodata
    n = int(valid.sum())
    if n == 0:
        if flag_applied:
            return 0.0, "no valid pixels; provider flag says offset applied"
        return BOA_ADD_OFFSET, "no valid pixels; baseline 04.00+ offset -1000"
    dark = int((dn[valid] < -BOA_ADD_OFFSET).sum())
    if dark >= max(1, DARK_FRACTION * n):
        return 0.0, f"{dark}/{n} valid DNs below 1000: offset already removed"
    return BOA_ADD_OFFSET, f"{dark}/{n} valid DNs below 1000: offset present"


def decide(item: Any, src: Source, assets: Sequence[str]) -> list[Harmonisation]:
    """What the item's metadata says about each of its reflectance ``assets``
    (:func:`offset_for` under the source's policy); some may be undecided."""
    return [offset_for(item, a, policy=src.offset_policy, nodata=src.nodata) for a in assets]


def _flag(item: Any) -> bool | None:
    v = item.properties.get("earthsearch:boa_offset_applied")
    return bool(v) if v is not None else None


def settle(hs: list[Harmonisation], raws: Sequence[np.ndarray], item: Any) -> list[Harmonisation]:
    """``hs`` with the undecided offsets settled from the item's raw DNs (all six bands,
    any resolution: :func:`offset_from_pixels`); ``hs`` itself when all are decided."""
    if all(h.decided for h in hs):
        return hs
    nodata = next((h.nodata for h in hs if h.nodata is not None), 0)
    stack = np.stack([np.asarray(r, dtype=np.float64) for r in raws])
    off, why = offset_from_pixels(stack, nodata, flag_applied=_flag(item))
    log.info("offset of %s decided from pixels: %s", item.id, why)
    return [h if h.decided else Harmonisation(h.scale, off, h.nodata, f"pixels: {why}") for h in hs]


def to_reflectance(dn: np.ndarray, h: Harmonisation) -> np.ndarray:
    """Float32 reflectance from raw DNs with NaN for nodata (see module docstring)."""
    if h.offset_dn is None:
        raise ValueError("harmonisation is undecided; settle it with offset_from_pixels")
    nodata = h.nodata
    if np.issubdtype(dn.dtype, np.floating):
        bad = ~np.isfinite(dn)
    else:
        bad = np.zeros(dn.shape, dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        bad |= dn == nodata
    off = h.offset_dn
    if math.isclose(h.scale, 1.0 / QUANTIFICATION, rel_tol=1e-9) and float(off).is_integer():
        # exact: float32(DN + offset) / 10000 in float32
        out = (dn.astype(np.float32) + np.float32(off)) / np.float32(QUANTIFICATION)
    else:
        out = ((dn.astype(np.float64) + off) * h.scale).astype(np.float32)
    out[bad] = np.nan
    return out
