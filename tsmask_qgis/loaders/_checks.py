"""Checks of a local stack where it is read: the file is what it claims and complete,
each date's values follow the data convention (see :mod:`tsmask_qgis.engine._sample`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsmask_qgis.loaders._errors import InputError

__all__ = [
    "check_netcdf_complete",
    "check_netcdf_file",
    "check_raw",
    "date_reflectance",
    "no_repeats",
]

_CLASSIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
_HDF5 = b"\x89HDF\r\n\x1a\n"


def check_netcdf_file(path: Path) -> str:
    """``"classic"`` (NetCDF 3) or ``"hdf5"`` (NetCDF 4) from the file's first bytes;
    :class:`InputError` for a file that is neither."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2056)
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror or exc})", field="input") from None
    if head[:4] in _CLASSIC:
        return "classic"
    if any(head[at : at + 8] == _HDF5 for at in (0, 512, 1024, 2048)):
        return "hdf5"
    shown = head[:16].decode("ascii", "replace").replace("\n", " ") if head else "nothing"
    raise InputError(
        f"{path} is not a NetCDF file (it starts with {shown!r}); give a NetCDF file "
        "exported with one variable per band, or a folder of GeoTIFFs",
        field="input",
    )


def check_netcdf_complete(path: Path, raw: Any, kind: str, variables: Sequence[str]) -> None:
    """Refuse a truncated or partly unreadable NetCDF before any compute: a classic file
    smaller than the data its header declares, or a band whose first or last values
    cannot be read."""
    if kind == "classic":
        need = sum(
            int(v.size) * v.dtype.itemsize for v in raw.variables.values() if v.dtype.kind in "iuf"
        )
        size = path.stat().st_size
        if size < need:
            raise InputError(
                f"{path} is truncated: its header declares at least {need:,} bytes of data "
                f"but the file has {size:,}; download or export it again",
                field="input",
            )
    for name in variables:
        var = raw[name]
        for end in (slice(0, 1), slice(-1, None)):
            try:
                np.asarray(var.isel({d: end for d in var.dims}).values)
            except Exception as exc:  # netCDF4/h5py raise many types for missing data
                raise InputError(
                    f"{path}: the values of {name} cannot be read ({type(exc).__name__}: "
                    f"{exc}); the file is truncated or damaged, download or export it again",
                    field="input",
                ) from None


def check_raw(samples: Mapping[str, tuple[Any, Any]], where: str) -> None:
    """Check the raw values of the six bands of one file (``band -> ((t, y, x) array,
    nodata)``), float and integer bands each by their own convention."""
    from tsmask_qgis.engine._sample import check_values

    for integer in (False, True):
        names = [
            b for b, (a, _nd) in samples.items() if (np.dtype(a.dtype).kind in "iu") == integer
        ]
        if names:
            check_values(
                [samples[b][0] for b in names],
                names,
                integer=integer,
                nodata=[samples[b][1] for b in names],
                where=where,
            )


def date_reflectance(arr: Any, nodata: Any) -> Any:
    """One date's raw values (dask) as float32 reflectance with NaN nodata, by its own
    dtype and nodata: integers are x 10000, floats reflectance."""
    import dask.array as da

    if np.dtype(arr.dtype).kind == "f":
        out = arr.astype(np.float32)
        bad = ~da.isfinite(out)
        if nodata is not None and np.isfinite(nodata):
            bad = bad | (out == np.float32(nodata))
        return da.where(bad, np.float32(np.nan), out)
    out = arr.astype(np.float32) / np.float32(10000.0)
    if nodata is not None:
        out = da.where(arr == nodata, np.float32(np.nan), out)
    return out


def no_repeats(times: Sequence[np.datetime64], names: Sequence[str], where: str) -> None:
    """Refuse the same date in two files (or bands) of a GeoTIFF folder, naming them."""
    seen: dict[Any, list[str]] = {}
    for t, name in zip(times, names, strict=True):
        seen.setdefault(t, []).append(name)
    dup = {t: n for t, n in seen.items() if len(n) > 1}
    if dup:
        t, files = sorted(dup.items())[0]
        raise InputError(
            f"{where} has the date {str(t)[:19]} more than once ({', '.join(files)}); keep "
            "one file per date",
            field="input",
        )
