"""Comparing a cloud mask with a reference: class mapping, alignment, confusion matrices.

Conventions (Olofsson et al. 2014, "Good practices for estimating area and
assessing accuracy of land change"): the confusion matrix has the **mask**
(the map being assessed) in rows and the **reference** in columns, over the
three observed classes clear, cloud, shadow. Producer's accuracy of a class
is its diagonal cell over its reference (column) total (1 − omission error);
user's accuracy is the diagonal over the mask (row) total (1 − commission
error). Pixel-dates where either side has no observation are left out of
the matrix and counted separately.

Every count is kept as a ``(time, 4, 4)`` table of mask class x reference
class including class 0, so all figures, overall and per date, derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

from tsmask_qgis.classes import CLASSES
from tsmask_qgis.errors import InputError

__all__ = [
    "CLASS_NAMES",
    "REFERENCE_KINDS",
    "DateEvaluation",
    "Evaluation",
    "compare",
    "to_classes",
]

ReferenceKind = Literal["tsmask", "scl", "fmask"]

#: The reference kinds :func:`compare` understands, with a one-line description.
REFERENCE_KINDS: dict[str, str] = {
    "tsmask": "four-class mask like ours: 0 no observation, 1 clear, 2 cloud, 3 shadow",
    "scl": "Sentinel-2 L2A scene classification (SCL): 3 shadow; 8, 9, 10 cloud; "
    "2, 4, 5, 6, 7, 11 clear; 0, 1 no observation",
    "fmask": "DEA oa_fmask: 2 cloud, 3 shadow, 1, 4, 5 clear, 0 no data",
}

#: Class value -> machine name, from :mod:`tsmask_qgis.classes`.
CLASS_NAMES: dict[int, str] = {c.value: c.name for c in CLASSES}

# Lookup tables from a reference's values to our four classes (255 = not a valid value).
_INVALID = 255


def _lut(mapping: dict[int, int]) -> np.ndarray:
    lut = np.full(256, _INVALID, dtype=np.uint8)
    for k, v in mapping.items():
        lut[k] = v
    return lut


_LUTS: dict[str, np.ndarray] = {
    "tsmask": _lut({0: 0, 1: 1, 2: 2, 3: 3}),
    # SCL: 0 no data, 1 saturated or defective, 2 dark area pixels, 3 cloud shadows,
    # 4 vegetation, 5 not vegetated, 6 water, 7 unclassified, 8 cloud medium
    # probability, 9 cloud high probability, 10 thin cirrus, 11 snow or ice.
    "scl": _lut({0: 0, 1: 0, 2: 1, 3: 3, 4: 1, 5: 1, 6: 1, 7: 1, 8: 2, 9: 2, 10: 2, 11: 1}),
    # DEA Fmask: 0 nodata, 1 valid (clear), 2 cloud, 3 cloud shadow, 4 snow, 5 water.
    "fmask": _lut({0: 0, 1: 1, 2: 2, 3: 3, 4: 1, 5: 1}),
}


def to_classes(values: Any, kind: str = "tsmask") -> np.ndarray:
    """Map a mask of the given kind to our classes (uint8: 0 no observation, 1, 2, 3).

    NaN (in a float array) counts as no observation. A value the kind does not
    define raises ``ValueError`` naming the values found, so a wrong
    ``reference_kind`` is caught rather than silently miscounted.
    """
    if kind not in _LUTS:
        raise ValueError(
            f"unknown reference kind {kind!r}: use one of {', '.join(REFERENCE_KINDS)}"
        )
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        whole = np.where(finite, arr, 0.0)
        if not np.array_equal(whole, np.round(whole)):
            raise ValueError(f"a {kind} mask holds class codes, but this array has fractions")
        arr = whole.astype(np.int64)
    elif arr.dtype.kind == "b":
        raise ValueError("a boolean array is not a class mask; give class codes")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"a {kind} mask must be numeric, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr > 255)
    if bad.any():
        raise ValueError(_bad_values_message(np.unique(arr[bad]), kind))
    out = _LUTS[kind][arr.astype(np.intp)]
    invalid = out == _INVALID
    if invalid.any():
        raise InputError(_bad_values_message(np.unique(arr[invalid]), kind), field="reference_kind")
    return out


def _bad_values_message(values: np.ndarray, kind: str) -> str:
    shown = ", ".join(str(int(v)) for v in values[:10])
    more = " ..." if values.size > 10 else ""
    return (
        f"values {shown}{more} are not {kind} classes ({REFERENCE_KINDS[kind]}); "
        "check the kind of reference, or the raster's nodata value"
    )


@dataclass(frozen=True)
class DateEvaluation:
    """The comparison on one date. Fractions are shares of the pixels both sides observed."""

    date: str
    counts: np.ndarray = field(repr=False)  # (4, 4) mask class x reference class, incl. 0

    @property
    def confusion(self) -> np.ndarray:
        """3 x 3 confusion matrix (rows: mask clear/cloud/shadow; columns: reference)."""
        return self.counts[1:, 1:]

    @property
    def pixels(self) -> int:
        """Pixels observed by both sides."""
        return int(self.confusion.sum())

    @property
    def overall_accuracy(self) -> float | None:
        return _oa(self.confusion)

    @property
    def f1(self) -> float | None:
        """F1 of "cloud or shadow" against clear (``None`` when neither side has any)."""
        return _binary(self.confusion)["f1"]

    def fraction(self, value: int, side: Literal["mask", "reference"]) -> float | None:
        """Share of the jointly observed pixels that ``side`` labels ``value``."""
        n = self.pixels
        if n == 0:
            return None
        c = self.confusion
        count = c[value - 1, :].sum() if side == "mask" else c[:, value - 1].sum()
        return float(count) / n

    def to_dict(self) -> dict[str, Any]:
        b = _binary(self.confusion)
        return {
            "date": self.date,
            "pixels": self.pixels,
            "mask_no_observation": int(self.counts[0, :].sum()),
            "reference_no_observation": int(self.counts[:, 0].sum()),
            "overall_accuracy": self.overall_accuracy,
            "f1_cloud_or_shadow": b["f1"],
            "mask_cloud_fraction": self.fraction(2, "mask"),
            "reference_cloud_fraction": self.fraction(2, "reference"),
            "mask_shadow_fraction": self.fraction(3, "mask"),
            "reference_shadow_fraction": self.fraction(3, "reference"),
            "confusion": self.confusion.tolist(),
        }


@dataclass(frozen=True)
class Evaluation:
    """A mask compared with a reference: overall and per-date figures.

    ``counts`` is the ``(time, 4, 4)`` table of mask class (rows) x reference
    class (columns), classes 0..3, one per date; everything else derives from it.
    ``dates`` are ISO strings (or ``"#i"`` when the inputs carry no dates).
    """

    counts: np.ndarray = field(repr=False)
    dates: tuple[str, ...]
    reference_kind: str = "tsmask"
    mask_name: str = "mask"
    reference_name: str = "reference"
    unmatched_mask_dates: tuple[str, ...] = ()
    unmatched_reference_dates: tuple[str, ...] = ()

    # ---- overall ------------------------------------------------------------------
    @property
    def table(self) -> np.ndarray:
        """4 x 4 counts summed over dates (classes 0..3, mask rows, reference columns)."""
        return self.counts.sum(axis=0)

    @property
    def confusion(self) -> np.ndarray:
        """3 x 3 confusion matrix over pixels both sides observed (clear, cloud, shadow)."""
        return self.table[1:, 1:]

    @property
    def pixels(self) -> int:
        """Pixel-dates in the confusion matrix (observed by both sides)."""
        return int(self.confusion.sum())

    @property
    def excluded(self) -> dict[str, int]:
        """Pixel-dates left out: no observation in the mask only, the reference only, both."""
        t = self.table
        return {
            "mask_only": int(t[0, 1:].sum()),
            "reference_only": int(t[1:, 0].sum()),
            "both": int(t[0, 0]),
        }

    @property
    def overall_accuracy(self) -> float | None:
        """Share of jointly observed pixel-dates with the same class on both sides."""
        return _oa(self.confusion)

    @property
    def producers_accuracy(self) -> dict[str, float | None]:
        """Per class: correct / reference total (1 − omission error)."""
        c = self.confusion
        return {CLASS_NAMES[k + 1]: _ratio(c[k, k], c[:, k].sum()) for k in range(3)}

    @property
    def users_accuracy(self) -> dict[str, float | None]:
        """Per class: correct / mask total (1 − commission error)."""
        c = self.confusion
        return {CLASS_NAMES[k + 1]: _ratio(c[k, k], c[k, :].sum()) for k in range(3)}

    @property
    def cloud_or_shadow(self) -> dict[str, float | None]:
        """ "Cloud or shadow" against clear: precision, recall, F1, accuracy."""
        return _binary(self.confusion)

    @property
    def f1(self) -> float | None:
        """F1 of "cloud or shadow" against clear."""
        return self.cloud_or_shadow["f1"]

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa of the 3 x 3 matrix (agreement beyond chance)."""
        c = self.confusion.astype(np.float64)
        n = c.sum()
        if n == 0:
            return None
        po = np.trace(c) / n
        pe = float((c.sum(axis=0) * c.sum(axis=1)).sum()) / (n * n)
        return None if pe >= 1.0 else float((po - pe) / (1.0 - pe))

    # ---- per date -----------------------------------------------------------------
    @property
    def per_date(self) -> tuple[DateEvaluation, ...]:
        return tuple(DateEvaluation(d, c) for d, c in zip(self.dates, self.counts, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values."""
        return {
            "mask": self.mask_name,
            "reference": self.reference_name,
            "reference_kind": self.reference_kind,
            "convention": "confusion rows = mask, columns = reference; classes clear, cloud, shadow",
            "classes": [CLASS_NAMES[k] for k in (1, 2, 3)],
            "dates": len(self.dates),
            "pixels": self.pixels,
            "excluded_no_observation": self.excluded,
            "overall_accuracy": self.overall_accuracy,
            "kappa": self.kappa,
            "producers_accuracy": self.producers_accuracy,
            "users_accuracy": self.users_accuracy,
            "cloud_or_shadow": self.cloud_or_shadow,
            "confusion": self.confusion.tolist(),
            "unmatched_mask_dates": list(self.unmatched_mask_dates),
            "unmatched_reference_dates": list(self.unmatched_reference_dates),
            "per_date": [d.to_dict() for d in self.per_date],
        }

    # Report formats live in report.py; these delegate so users find them on the object.
    def to_markdown(self, *, per_date: bool = True) -> str:
        """A Markdown report (summary, confusion matrix, per-class and per-date tables)."""
        from tsmask_qgis.evaluate.report import to_markdown

        return to_markdown(self, per_date=per_date)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (see :meth:`to_dict`)."""
        from tsmask_qgis.evaluate.report import to_json

        return to_json(self, indent=indent)

    def to_html(self, *, figure: bool = True, per_date: bool = True) -> str:
        """A self-contained HTML report (inline CSS, the confusion matrix as an inline PNG)."""
        from tsmask_qgis.evaluate.report import to_html

        return to_html(self, figure=figure, per_date=per_date)

    def confusion_png(self, path: Any, *, dpi: int = 110) -> Any:
        """Draw the confusion matrix (counts and column shares) to a PNG file; returns the path."""
        from tsmask_qgis.evaluate.report import confusion_png

        return confusion_png(self, path, dpi=dpi)

    def write_report(
        self,
        folder: Any,
        *,
        stem: str = "evaluation",
        formats: tuple[str, ...] = ("md", "json", "html", "png"),
        title: str | None = None,
    ) -> dict[str, Any]:
        """Write the report files into ``folder`` (:func:`~tsmask_qgis.evaluate.write_report`)."""
        from tsmask_qgis.evaluate.report import write_report

        return write_report(self, folder, stem=stem, formats=formats, title=title)


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if b else None


def _oa(c: np.ndarray) -> float | None:
    return _ratio(np.trace(c), c.sum())


def _binary(c: np.ndarray) -> dict[str, float | None]:
    """Positive = cloud or shadow (classes 2, 3), negative = clear (class 1)."""
    tp = int(c[1:, 1:].sum())
    fp = int(c[1:, 0].sum())
    fn = int(c[0, 1:].sum())
    tn = int(c[0, 0])
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
    }


# ---- alignment -------------------------------------------------------------------------


def _as_cube(x: Any, what: str) -> tuple[np.ndarray, xr.DataArray | None]:
    """A (time, y, x) array and the DataArray it came from (None for plain arrays)."""
    if isinstance(x, xr.Dataset):
        names = [v for v in x.data_vars if {"y", "x"} <= set(x[v].dims)]
        if len(names) != 1:
            raise ValueError(
                f"the {what} Dataset has variables {list(x.data_vars)}: pass one DataArray"
            )
        x = x[names[0]]
    if isinstance(x, xr.DataArray):
        da = x
        if da.ndim == 2:
            # A scalar ``time`` coordinate (one date selected) becomes the time dimension.
            da = da.expand_dims("time", axis=0)
        if da.ndim != 3:
            raise ValueError(f"the {what} must be 2-D (y, x) or 3-D (time, y, x), got {da.dims}")
        if "time" in da.dims:
            da = da.transpose("time", ...)
        return np.asarray(da.values), da
    arr = np.asarray(x)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"the {what} must be 2-D (y, x) or 3-D (time, y, x), got {arr.shape}")
    return arr, None


def _date_strings(da: xr.DataArray | None, n: int) -> tuple[str, ...] | None:
    if da is None or "time" not in da.coords:
        return None
    t = np.atleast_1d(da["time"].values)
    if not np.issubdtype(t.dtype, np.datetime64):
        return None
    return tuple(str(v)[:19].replace("T00:00:00", "") for v in t.astype("datetime64[s]"))


def _days(da: xr.DataArray) -> np.ndarray:
    return np.atleast_1d(da["time"].values).astype("datetime64[D]")


def _check_grid(m: xr.DataArray | None, r: xr.DataArray | None, ms: tuple, rs: tuple) -> None:
    if ms[-2:] != rs[-2:]:
        raise ValueError(
            f"the mask is {ms[-2]} x {ms[-1]} pixels and the reference {rs[-2]} x {rs[-1]}: "
            "they must be on the same grid; resample one onto the other first "
            "(e.g. gdalwarp -te/-tr/-t_srs, or odc.geo's reproject)"
        )
    if m is None or r is None:
        return
    for dim in ("y", "x"):
        if dim in m.coords and dim in r.coords:
            a, b = np.asarray(m[dim].values, float), np.asarray(r[dim].values, float)
            step = abs(float(a[1] - a[0])) if a.size > 1 else 1.0
            if a.shape != b.shape or not np.allclose(a, b, atol=0.01 * step, rtol=0):
                raise ValueError(
                    f"the mask and the reference have different {dim} coordinates "
                    f"(mask {a[0]:.3f}..{a[-1]:.3f}, reference {b[0]:.3f}..{b[-1]:.3f}): "
                    "they must be on the same grid; resample one onto the other first"
                )
    mc, rc = _crs(m), _crs(r)
    if mc is not None and rc is not None and mc != rc:
        raise ValueError(
            f"the mask is in {mc} and the reference in {rc}: reproject one onto the other first"
        )


def _crs(da: xr.DataArray) -> Any:
    try:
        import odc.geo.xr  # noqa: F401  (registers the .odc accessor)

        return da.odc.crs
    except Exception:  # no CRS information: nothing to compare
        return None


def _align(
    m_arr: np.ndarray, m_da: xr.DataArray | None, r_arr: np.ndarray, r_da: xr.DataArray | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Pair up the dates of both sides; returns the arrays, dates and unmatched dates."""
    _check_grid(m_da, r_da, m_arr.shape, r_arr.shape)
    m_dates = _date_strings(m_da, m_arr.shape[0])
    r_dates = _date_strings(r_da, r_arr.shape[0])
    if m_dates is None or r_dates is None:
        if m_arr.shape[0] != r_arr.shape[0]:
            raise ValueError(
                f"the mask has {m_arr.shape[0]} dates and the reference {r_arr.shape[0]}, "
                "and at least one of them carries no dates to match them by: give both "
                "the same dates, or inputs with a time coordinate"
            )
        dates = m_dates or r_dates or tuple(f"#{i}" for i in range(m_arr.shape[0]))
        return m_arr, r_arr, dates, (), ()
    assert m_da is not None and r_da is not None  # nosec B101: internal invariant (type narrowing), not a check of input
    # Match exact timestamps first, then calendar days (SCL and our mask may differ
    # by a time of day when one was written with dates only).
    m_t = np.atleast_1d(m_da["time"].values)
    r_t = np.atleast_1d(r_da["time"].values)
    if not np.intersect1d(m_t, r_t).size:
        m_t, r_t = _days(m_da), _days(r_da)
    common, mi, ri = np.intersect1d(m_t, r_t, return_indices=True)
    if common.size == 0:
        raise ValueError(
            f"the mask ({m_dates[0]}..{m_dates[-1]}) and the reference "
            f"({r_dates[0]}..{r_dates[-1]}) have no date in common"
        )
    if np.unique(m_t).size != m_t.size or np.unique(r_t).size != r_t.size:
        raise ValueError(
            "a date occurs twice in the mask or the reference: merge same-day acquisitions first"
        )
    um = tuple(d for i, d in enumerate(m_dates) if i not in set(mi.tolist()))
    ur = tuple(d for i, d in enumerate(r_dates) if i not in set(ri.tolist()))
    return m_arr[mi], r_arr[ri], tuple(m_dates[i] for i in mi), um, ur


def compare(
    mask: Any,
    reference: Any,
    *,
    reference_kind: str = "tsmask",
    mask_kind: str = "tsmask",
    mask_name: str = "mask",
    reference_name: str = "reference",
) -> Evaluation:
    """Compare a mask with a reference mask.

    Args:
        mask: the mask to assess: numpy array or ``xarray.DataArray``,
            ``(time, y, x)`` or one date ``(y, x)``, our classes (or ``mask_kind``).
        reference: the reference, same layout, with the classes of ``reference_kind``.
        reference_kind: ``"tsmask"`` (four classes like ours), ``"scl"``
            (Sentinel-2 L2A scene classification) or ``"fmask"`` (DEA ``oa_fmask``).
        mask_kind: the kind of ``mask`` (normally ``"tsmask"``).
        mask_name, reference_name: labels for the report.

    Both sides must be on the same grid. DataArrays with a ``time`` coordinate
    are matched by date (exact timestamps, else calendar days); dates on one
    side only are listed in the result and left out. Without dates, both must
    have the same number of dates, taken in order.

    Returns:
        An :class:`Evaluation`.

    Raises:
        ValueError: kinds unknown, values not of the kind, grids or dates that do
            not match; the message says what to do.
    """
    for name, kind in (("reference_kind", reference_kind), ("mask_kind", mask_kind)):
        if kind not in REFERENCE_KINDS:
            raise ValueError(f"unknown {name} {kind!r}: use one of {', '.join(REFERENCE_KINDS)}")
    m_arr, m_da = _as_cube(mask, "mask")
    r_arr, r_da = _as_cube(reference, "reference")
    m_arr, r_arr, dates, um, ur = _align(m_arr, m_da, r_arr, r_da)
    m = to_classes(m_arr, mask_kind)
    r = to_classes(r_arr, reference_kind)
    nt = m.shape[0]
    counts = np.empty((nt, 4, 4), dtype=np.int64)
    for t in range(nt):
        code = m[t].astype(np.intp).ravel() * 4 + r[t].ravel()
        counts[t] = np.bincount(code, minlength=16).reshape(4, 4)
    return Evaluation(
        counts=counts,
        dates=dates,
        reference_kind=reference_kind,
        mask_name=mask_name,
        reference_name=reference_name,
        unmatched_mask_dates=um,
        unmatched_reference_dates=ur,
    )
