"""Check an input Dataset against the engine's data convention and describe it.

The convention (docs/api.md): an ``xarray.Dataset`` with the variables
``blue green red nir swir1 swir2`` on dims ``(time, y, x)``; either float
reflectance 0..1 with NaN for nodata, or integers scaled by 10000 with a
``nodata`` attribute per variable (only the declared value is nodata).

Every error says what is wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.bands import BAND_ALIASES, BANDS, BROAD_NIR, VALUES_CHECKED, band_name, normalise
from tsmask_qgis.engine._sample import check_values
from tsmask_qgis.errors import InputError

__all__ = [
    "BANDS",
    "BAND_ALIASES",
    "BandStack",
    "InputError",
    "validate_dataset",
    "validate_mask",
]

DIMS: tuple[str, str, str] = ("time", "y", "x")
_DIM_ALIASES = {
    "y": ("latitude", "lat", "northing", "row"),
    "x": ("longitude", "lon", "easting", "col"),
}


_DIRECT_DTYPES = tuple(np.dtype(d) for d in ("int16", "uint16", "float32", "float64"))


@dataclass(frozen=True)
class BandStack:
    """The six bands of a validated Dataset, ready for the runners.

    ``arrays`` are the variables' data (numpy or dask), each ``(time, y, x)``,
    in :data:`BANDS` order. ``nodata`` holds the declared nodata value per band
    (``None`` when undeclared); ``scale`` is 10000 for integer input and ``None``
    for float reflectance.
    """

    arrays: tuple[Any, ...]
    dtype: np.dtype
    nodata: tuple[float | None, ...]
    scale: float | None
    lazy: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(time, y, x)``."""
        return tuple(int(n) for n in self.arrays[0].shape)  # type: ignore[return-value]

    @property
    def integer(self) -> bool:
        """True for integer (scaled) input."""
        return self.dtype.kind in "iu"

    @property
    def uniform_nodata(self) -> bool:
        """True when one nodata value (or none) holds for all six bands and the
        kernels can read the raw values directly."""
        if self.integer:
            return len(set(self.nodata)) == 1
        return all(v is None or np.isnan(v) for v in self.nodata)

    @property
    def direct(self) -> bool:
        """True when the kernels read the raw values: one nodata value for all bands
        and a dtype whose kernels are compiled at install time (int16, uint16,
        float32, float64). Otherwise tiles are normalised to float32 reflectance."""
        return self.uniform_nodata and self.dtype in _DIRECT_DTYPES

    @property
    def kernel_dtype(self) -> np.dtype:
        """The dtype the kernels receive (raw dtype, or float32 after normalising)."""
        return self.dtype if self.direct else np.dtype(np.float32)

    @property
    def kernel_nodata(self) -> float | None:
        """``nodata=`` for the kernels."""
        return self.nodata[0] if self.integer and self.direct else None

    @property
    def kernel_scale(self) -> float | None:
        """``scale=`` for the kernels."""
        return self.scale if self.integer and self.direct else None

    @property
    def nbytes(self) -> int:
        """Bytes of the whole input cube in the kernels' dtype."""
        t, y, x = self.shape
        return 6 * t * y * x * self.kernel_dtype.itemsize

    def normalise(self, raw: np.ndarray, band: int) -> np.ndarray:
        """One band's raw values as float32 reflectance with NaN where nodata.

        Only needed when ``direct`` is false.
        """
        nd = self.nodata[band]
        if self.integer:
            out = raw.astype(np.float32)
            out /= np.float32(self.scale or 10000.0)
        else:
            out = raw.astype(np.float32, copy=True)
        if nd is not None and not np.isnan(nd):
            out[raw == nd] = np.nan
        return out


def _is_lazy(data: Any) -> bool:
    return not isinstance(data, np.ndarray) and hasattr(data, "dask")


def _band_hint(names: Sequence[str]) -> str:
    """A suggestion for renaming the dataset's variables to the engine's names."""
    rename: dict[str, str] = {}
    for name in map(str, names):
        band = band_name(name)
        if band is not None and band not in names and band not in rename.values():
            rename[name] = band
    parts = []
    if rename:
        parts.append(f"rename them with ds.rename({rename!r})")
    missing_nir = "nir" not in names and "nir" not in rename.values()
    broad = [str(n) for n in names if normalise(str(n)) in BROAD_NIR]
    if missing_nir and broad:
        parts.append(
            f"{broad[0]!r} looks like the 10 m broad NIR (B08); tsmask uses the narrow "
            "NIR B8A (nbart_nir_2, nir08): load that band instead"
        )
    if not parts:
        parts.append(
            "load the bands blue, green, red, nir (B8A), swir1 (B11) and swir2 (B12); "
            "common names: B02 B03 B04 B8A B11 B12 (Sentinel-2, Planetary Computer), "
            "nbart_blue .. nbart_swir_3 (DEA), blue green red nir08 swir16 swir22 "
            "(Earth Search)"
        )
    return "; ".join(parts)


def _check_dims(ds: Any) -> Any:
    """Return ``ds`` with its variables on (time, y, x), transposing if needed."""
    for band in BANDS:
        dims = tuple(ds[band].dims)
        if dims == DIMS:
            continue
        if set(dims) == set(DIMS):
            return ds.transpose(*DIMS, ...)
        hints = []
        for want, aliases in _DIM_ALIASES.items():
            if want not in dims:
                found = [d for d in dims if str(d).lower() in aliases]
                if found:
                    hints.append(f"{found[0]!r}: {want!r}")
        fix = f"rename them with ds.rename({{{', '.join(hints)}}})" if hints else ""
        if "band" in dims:
            fix = "split the band dimension into variables with da.to_dataset(dim='band')"
        raise InputError(
            f"variable {band!r} has dims {dims}; the engine needs (time, y, x)"
            + (f": {fix}" if fix else " (one time axis and two spatial axes named y and x)")
        )
    return ds


def _declared_nodata(var: Any) -> float | None:
    for key in ("nodata", "_FillValue"):
        if key in var.attrs and var.attrs[key] is not None:
            try:
                return float(var.attrs[key])
            except (TypeError, ValueError):
                raise InputError(
                    f"variable {var.name!r} has a {key} attribute {var.attrs[key]!r} that is "
                    "not a number; set it to the band's nodata value (e.g. -999 for DEA, 0 "
                    "for Sentinel-2 L2A)"
                ) from None
    return None


def validate_dataset(ds: Any) -> tuple[Any, BandStack]:
    """Check ``ds`` and return it (transposed to (time, y, x) if needed) with its bands.

    Raises :class:`InputError` (a ``ValueError``) for a missing or misnamed
    band, wrong dims or dtype, unsorted or duplicate times, or an empty axis.
    A series too short for a spike-test pass is valid.
    """
    import xarray as xr

    if isinstance(ds, xr.DataArray):
        if "band" in ds.dims:
            raise InputError(
                "got a DataArray with a 'band' dimension; pass a Dataset with one variable "
                "per band: da.to_dataset(dim='band')"
            )
        raise InputError("got a DataArray; pass an xarray.Dataset with the six band variables")
    if not isinstance(ds, xr.Dataset):
        raise InputError(
            f"expected an xarray.Dataset with variables {', '.join(BANDS)}, "
            f"got {type(ds).__name__}; for numpy arrays use classify_array"
        )
    names = [str(n) for n in ds.data_vars]
    missing = [b for b in BANDS if b not in ds.data_vars]
    if missing:
        raise InputError(
            f"missing band(s) {', '.join(missing)} (the dataset has: "
            f"{', '.join(names) or 'no variables'}); {_band_hint(names)}"
        )
    ds = _check_dims(ds)
    shape = tuple(ds[BANDS[0]].shape)
    for band in BANDS[1:]:
        if tuple(ds[band].shape) != shape:
            raise InputError(
                f"band {band!r} has shape {tuple(ds[band].shape)} but {BANDS[0]!r} has {shape}; "
                "all six bands must be on the same (time, y, x) grid"
            )
    for name, n in zip(DIMS, shape, strict=True):
        if n == 0:
            raise InputError(
                f"the {name} axis is empty; "
                + (
                    "the search found no dates: widen the date range or the cloud-cover limit"
                    if name == "time"
                    else "the area has no pixels: check the extent and resolution"
                )
            )
    if "time" in ds.coords:
        times = ds["time"].values
        if times.dtype.kind == "M" or times.dtype == object:
            idx = np.asarray(times)
            try:
                diffs = idx[1:] > idx[:-1]
            except TypeError:
                raise InputError("the time coordinate is not comparable; use datetime64") from None
            if not bool(np.all(diffs)):
                if len(np.unique(idx)) != len(idx):
                    raise InputError(
                        "the time coordinate has duplicate dates; merge them first (e.g. "
                        "ds.groupby('time').first() or odc-stac's groupby='solar_day')"
                    )
                raise InputError("the time coordinate is not sorted; use ds.sortby('time')")
    dtypes = [np.dtype(ds[b].dtype) for b in BANDS]
    kinds = {d.kind for d in dtypes}
    bad = [b for b, d in zip(BANDS, dtypes, strict=True) if d.kind not in "iuf"]
    if bad:
        raise InputError(
            f"band(s) {', '.join(bad)} have dtype {ds[bad[0]].dtype}; the engine needs float "
            "reflectance (0..1, NaN nodata) or integers scaled by 10000"
        )
    if "f" in kinds and len(kinds) > 1:
        raise InputError(
            "some bands are float and some integer; use one convention for all six: "
            "float reflectance 0..1, or integers scaled by 10000 with a nodata attribute"
        )
    dtype = np.result_type(*dtypes)
    nodata = tuple(_declared_nodata(ds[b]) for b in BANDS)
    arrays = tuple(ds[b].data for b in BANDS)
    lazy = any(_is_lazy(a) for a in arrays)
    integer = dtype.kind in "iu"
    if not ds.attrs.get(VALUES_CHECKED):
        check_values(arrays, BANDS, integer=integer, nodata=nodata)
    stack = BandStack(
        arrays=arrays,
        dtype=np.dtype(dtype),
        nodata=nodata,
        scale=10000.0 if integer else None,
        lazy=lazy,
    )
    return ds, stack


def validate_mask(mask: Any) -> np.ndarray:
    """Check a class cube (numpy ``(t, y, x)`` or ``(y, x)``) and return it as uint8."""
    a = np.asarray(mask)
    if a.ndim not in (2, 3):
        raise InputError(
            f"a mask must be (time, y, x) or (y, x), got {a.ndim} dimension(s) {a.shape}"
        )
    if a.dtype.kind not in "iu":
        raise InputError(f"a mask must hold integer class values 0..3, got dtype {a.dtype}")
    if a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 3):
            raise InputError("a mask must hold the class values 0, 1, 2, 3 only")
        a = a.astype(np.uint8)
    elif a.size and a.max() > 3:
        raise InputError(
            f"a mask must hold the class values 0, 1, 2, 3 only (found {int(a.max())})"
        )
    return a
