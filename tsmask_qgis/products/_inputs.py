"""What the products read: the reflectance bands by name, and a mask on the same grid and dates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.bands import BANDS, band_name
from tsmask_qgis.errors import InputError

__all__ = ["Bands", "check_mask", "find_bands"]

_RAW_DTYPES = tuple(np.dtype(d) for d in ("int16", "uint16", "float32", "float64"))


@dataclass(frozen=True)
class Bands:
    """Reflectance bands of a stack: ``names`` (tsmask's band names) and their
    ``arrays`` (numpy or dask, ``(time, y, x)``), ``nodata`` per band, and whether
    they are integers scaled by 10000."""

    names: tuple[str, ...]
    arrays: tuple[Any, ...]
    nodata: tuple[float | None, ...]
    integer: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.arrays[0].shape)  # type: ignore[return-value]

    @property
    def lazy(self) -> bool:
        return any(not isinstance(a, np.ndarray) for a in self.arrays)

    @property
    def raw(self) -> bool:
        """True when the kernels read the raw values: one dtype and one nodata value."""
        dtypes = {np.dtype(a.dtype) for a in self.arrays}
        return (
            len(dtypes) == 1 and len(set(self.nodata)) == 1 and (next(iter(dtypes)) in _RAW_DTYPES)
        )

    @property
    def kernel_dtype(self) -> np.dtype:
        return np.dtype(self.arrays[0].dtype) if self.raw else np.dtype(np.float32)

    @property
    def kernel_nodata(self) -> float:
        """The nodata value the kernels see (NaN for none or after normalising)."""
        nd = self.nodata[0] if self.raw else None
        return float("nan") if nd is None else float(nd)

    @property
    def kernel_scale(self) -> float:
        return 10000.0 if self.integer and self.raw else 1.0

    def read_into(self, out: np.ndarray, t: slice, ys: slice, xs: slice) -> None:
        """Fill ``out`` ``(B, T, y, x)`` (:attr:`kernel_dtype`) with dates ``t`` of the window."""
        if not self.raw:
            out[...] = self.read(t, ys, xs)
            return
        views = [a[t, ys, xs] for a in self.arrays]
        if self.lazy:
            import dask.array as da

            lazy = [i for i, v in enumerate(views) if not isinstance(v, np.ndarray)]
            da.store([views[i] for i in lazy], [out[i] for i in lazy], lock=False)
            views = [None if i in lazy else v for i, v in enumerate(views)]
        for i, v in enumerate(views):
            if v is not None:
                np.copyto(out[i], v)

    def read(self, t: Sequence[int] | slice, ys: slice, xs: slice) -> np.ndarray:
        """``(B, len(t), y, x)`` float32 reflectance with NaN for nodata."""
        idx = list(t) if not isinstance(t, slice) else t
        views = [a[idx, ys, xs] for a in self.arrays]
        if self.lazy:
            import dask

            views = list(dask.compute(*views))
        first = np.asarray(views[0])
        out = np.empty((len(views), *first.shape), np.float32)
        for i, v in enumerate(views):
            raw = np.asarray(v)
            np.copyto(out[i], raw, casting="unsafe")
            if self.integer:
                out[i] /= np.float32(10000.0)
            nd = self.nodata[i]
            if nd is not None and not np.isnan(nd):
                out[i][raw == nd] = np.nan
        return out


def _nodata(var: Any) -> float | None:
    for key in ("nodata", "_FillValue"):
        value = var.attrs.get(key, var.encoding.get(key))
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"variable {var.name!r} has a {key} {value!r} that is not a number",
                    field="input",
                ) from None
    return None


def find_bands(ds: Any, wanted: Sequence[str] = BANDS, *, need: Sequence[str] = ()) -> Bands:
    """The bands of ``wanted`` that ``ds`` holds (by tsmask name or an alias, see
    :mod:`tsmask_qgis.bands`), on ``(time, y, x)``.

    ``need`` are bands without which the product cannot be made: a missing one is an
    :class:`InputError` naming it and the variables there are.
    """
    found: dict[str, str] = {}
    for var in ds.data_vars:
        band = band_name(str(var))
        if band is not None and band in wanted and band not in found:
            found[band] = str(var)
    missing = [b for b in need if b not in found]
    if missing or not found:
        raise InputError(
            f"the stack has no {' or '.join(missing or wanted)} band (it has: "
            f"{', '.join(map(str, ds.data_vars)) or 'no variables'}); load the "
            f"band{'s' if len(missing) > 1 else ''} {', '.join(missing or wanted)} too",
            field="input",
        )
    names = tuple(b for b in wanted if b in found)
    arrays, nodata, kinds = [], [], set()
    for b in names:
        var = ds[found[b]]
        if set(var.dims) != {"time", "y", "x"}:
            raise InputError(
                f"band {found[b]!r} has dims {var.dims}; it must be on (time, y, x)", field="input"
            )
        var = var.transpose("time", "y", "x")
        arrays.append(var.data)
        nodata.append(_nodata(var))
        kinds.add(np.dtype(var.dtype).kind)
    if not kinds <= set("iuf") or ("f" in kinds and len(kinds) > 1):
        raise InputError(
            "the bands must all be float reflectance (0..1) or all integers scaled by 10000",
            field="input",
        )
    return Bands(names, tuple(arrays), tuple(nodata), "f" not in kinds)


def _axis(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _grid_difference(name: str, a: Any, b: Any) -> str | None:
    """Words for how the ``name`` coordinate of the mask (``a``) differs from the stack's."""
    if a is None or b is None:
        return None
    a, b = _axis(a), _axis(b)
    if a.size != b.size:
        diff = a.size - b.size
        unit = "rows" if name == "y" else "columns"
        return (
            f"the mask has {a.size} {unit} along {name}, the stack {b.size} "
            f"({abs(diff)} {'more' if diff > 0 else 'fewer'})"
        )
    if a.size == 0:
        return None
    step = abs(float(b[1] - b[0])) if b.size > 1 else 1.0
    off = float(np.max(np.abs(a - b)))
    if off > 1e-6 * max(step, 1.0):
        return (
            f"the mask's {name} coordinates are off the stack's by up to {off:g} "
            f"({off / step:.3g} pixels)"
        )
    return None


def check_mask(mask: Any, ds: Any) -> Any:
    """``mask`` (a class ``DataArray`` on ``(time, y, x)``) checked against ``ds``'s grid
    and dates; never resampled. :class:`InputError` says what differs and by how much."""
    if set(mask.dims) != {"time", "y", "x"}:
        raise InputError(f"the mask has dims {mask.dims}; it must be on (time, y, x)", field="mask")
    mask = mask.transpose("time", "y", "x")
    problems = []
    for name in ("y", "x"):
        words = _grid_difference(
            name,
            mask[name].values if name in mask.coords else np.arange(mask.sizes[name]),
            ds[name].values if name in ds.coords else np.arange(ds.sizes[name]),
        )
        if words:
            problems.append(words)
    mt = np.asarray(mask["time"].values).astype("datetime64[D]") if "time" in mask.coords else None
    st = np.asarray(ds["time"].values).astype("datetime64[D]") if "time" in ds.coords else None
    if mt is not None and st is not None:
        if mt.size != st.size or not np.array_equal(mt, st):
            only_stack = sorted(set(st.tolist()) - set(mt.tolist()))
            only_mask = sorted(set(mt.tolist()) - set(st.tolist()))
            words = f"the mask has {mt.size} dates, the stack {st.size}"
            if only_stack:
                words += f"; {len(only_stack)} of the stack's are not in the mask (first {only_stack[0]})"
            if only_mask:
                words += (
                    f"; {len(only_mask)} of the mask's are not in the stack (first {only_mask[0]})"
                )
            if not only_stack and not only_mask:
                words += "; the same dates in another order"
            problems.append(words)
    elif mask.sizes["time"] != ds.sizes["time"]:
        problems.append(f"the mask has {mask.sizes['time']} dates, the stack {ds.sizes['time']}")
    if problems:
        raise InputError(
            "the mask does not match the stack: "
            + "; ".join(problems)
            + ". Use the mask made from this stack (masks are never resampled)",
            field="mask",
        )
    return mask
