"""The job: everything one run needs, as plain values, checked when it is made."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsmask_qgis import __version__, writers
from tsmask_qgis.errors import ParameterError

__all__ = ["DEFAULT_FORMATS", "FORMATS", "REFERENCE_KINDS", "Job", "input_digest", "parse_size"]

#: Output formats a job can ask for in ``formats``, and what each writes in the output
#: folder (from the writers' registry; true colour and the evaluation have options of
#: their own).
FORMATS: dict[str, str] = {
    name: fmt.description for name, fmt in writers.FORMATS.items() if fmt.selectable
}
DEFAULT_FORMATS: tuple[str, ...] = ("netcdf", "cog", "qml", "summary", "count", "chart")

#: The references a job can evaluate its masks against (from the catalogue).
REFERENCE_KINDS = ("scl",)


def parse_size(text: str | int | None) -> int | None:
    """``"4GB"`` (4e9), ``"512MiB"``, ``"1.5g"`` or a number of bytes -> bytes (``None`` stays).

    The same reading as the engine's ``max_memory``: KB/MB/GB are powers of ten,
    KiB/MiB/GiB powers of two.
    """
    if text is None:
        return None
    from tsmask_qgis.engine import parse_memory

    try:
        return parse_memory(text)
    except ValueError:
        raise ParameterError(
            f"cannot read {text!r} as a size; write e.g. 4GB, 512MB or 2GiB", field="max_memory"
        ) from None


_QUICKLOOK_DATE = re.compile(r"^(all|\d{4}-\d{2}(-\d{2}(T\d{2}(\d{2}(\d{2})?)?)?)?)$")

#: Files up to this size are hashed whole for the resume key; larger ones by their
#: first and last :data:`_HASH_PART` bytes (with their size and modification time).
_HASH_WHOLE = 8 * 1024**2
_HASH_PART = 1024**2
_STACK_SUFFIXES = (".tif", ".tiff", ".nc", ".nc4")


def _file_digest(path: Path) -> list[Any]:
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        if st.st_size <= _HASH_WHOLE:
            h.update(fh.read())
        else:
            h.update(fh.read(_HASH_PART))
            fh.seek(st.st_size - _HASH_PART)
            h.update(fh.read(_HASH_PART))
    return [path.name, st.st_size, st.st_mtime_ns, h.hexdigest()[:32]]


def input_digest(path: Path) -> dict[str, Any]:
    """What identifies a local stack's content: each of its files' name, size,
    modification time and a hash of its content (whole, or head and tail when large).
    An input edited in place gets another digest, so a re-run computes it again."""
    found: dict[str, Any] = {"path": str(path.resolve())}
    try:
        if path.is_dir():
            files = sorted(q for q in path.iterdir() if q.suffix.lower() in _STACK_SUFFIXES)
        else:
            files = [path]
        found["files"] = [_file_digest(q) for q in files if q.is_file()]
    except OSError:
        found["files"] = None  # unreadable: loading it says why
    return found


@dataclass(frozen=True, kw_only=True)
class Job:
    """Everything one run needs, as plain values (safe to build on the QGIS side).

    Give either ``request`` (a :class:`tsmask_qgis.loaders.Request`) or ``input``
    (a local stack :func:`tsmask_qgis.loaders.load_local` reads). ``overrides``
    are threshold overrides of ``preset`` (name -> value). ``formats`` come from
    :data:`FORMATS`; ``truecolour`` adds a true-colour COG per date; quicklooks
    are drawn for ``quicklook_dates`` (``None``: a few telling dates chosen from
    the summary; ``("all",)``: every date). ``runner``, ``workers``,
    ``max_memory`` (bytes or ``"4GB"``) and ``scheduler`` (a dask.distributed
    address) tune the engine. ``reference="scl"`` loads the catalogue's scene
    classification beside the bands and evaluates the masks against it.
    ``concurrency`` is the number of catalogue reads at once (``None``: the loaders'
    default, ``NetworkOptions.concurrency``).
    ``shadow_geometry`` adds the cloud-shadow step from the sun's position, and
    ``cloud_buffer_m`` / ``shadow_buffer_m`` buffer each class by that many metres
    (numbers or ``"60m"``; 0 = none), after the preset (docs/shadow_geometry.md); a
    catalogue job then loads a margin around the area and crops it off.
    ``products`` (a :class:`~tsmask_qgis.pipeline.ProductOptions`) adds composites,
    a masked stack or an index series made from the reflectance and the masks.
    """

    out: Path
    request: Any = None
    input: Path | None = None
    preset: str = "dea"
    overrides: tuple[tuple[str, Any], ...] = ()
    spatial: bool = True
    formats: tuple[str, ...] = DEFAULT_FORMATS
    truecolour: bool = False
    quicklook_dates: tuple[str, ...] | None = None
    workers: int | None = None
    runner: str = "auto"
    max_memory: int | None = None
    scheduler: str | None = None
    overwrite: bool = False
    reference: str | None = None
    cache: bool = True
    concurrency: int | None = None
    shadow_geometry: bool = False
    cloud_buffer_m: float = 0.0
    shadow_buffer_m: float = 0.0
    meta: tuple[tuple[str, str], ...] = field(default=())
    products: Any = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "out", Path(self.out))
        if (self.request is None) == (self.input is None):
            raise ParameterError(
                "a job needs exactly one source: a catalogue search (an area and dates) "
                "or a local stack",
                field="input",
            )
        if self.input is not None:
            set_(self, "input", Path(self.input))
        ov = self.overrides
        pairs = ov.items() if isinstance(ov, Mapping) else ov
        set_(self, "overrides", tuple(sorted((str(k), v) for k, v in pairs)))
        from tsmask_qgis.engine import get_preset  # pure dataclasses: no numba

        get_preset(self.preset, **dict(self.overrides))  # unknown names fail here, clearly
        formats = (self.formats,) if isinstance(self.formats, str) else tuple(self.formats)
        unknown = [f for f in formats if f not in FORMATS]
        if unknown:
            raise ParameterError(
                f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}",
                field="formats",
            )
        set_(self, "formats", tuple(dict.fromkeys(formats)))
        if self.quicklook_dates is not None:
            qd = self.quicklook_dates
            qd = (qd,) if isinstance(qd, str) else tuple(map(str, qd))
            bad = [d for d in qd if not _QUICKLOOK_DATE.match(d)]
            if bad or not qd or ("all" in qd and len(qd) > 1):
                raise ParameterError(
                    f"quicklook date {(bad or qd)[0]!r} is not a date; write YYYY-MM-DD "
                    "(or YYYY-MM for the first date of a month), or all",
                    field="quicklook_dates",
                )
            set_(self, "quicklook_dates", qd)
        set_(self, "max_memory", parse_size(self.max_memory))
        from tsmask_qgis.engine._post import check_options

        geometry, cloud_m, shadow_m = check_options(
            self.shadow_geometry, self.cloud_buffer_m, self.shadow_buffer_m
        )
        set_(self, "shadow_geometry", geometry)
        set_(self, "cloud_buffer_m", cloud_m)
        set_(self, "shadow_buffer_m", shadow_m)
        if self.post_steps and not self.spatial:
            raise ParameterError(
                "the shadow geometry and the buffers run after the spatial steps: leave "
                "the spatial steps on",
                field="spatial",
            )
        if self.workers is not None and int(self.workers) < 1:
            raise ParameterError("workers must be 1 or more (or all cores)", field="workers")
        if self.concurrency is not None:
            from tsmask_qgis.loaders._network import check_concurrency  # standard library only

            check_concurrency(self.concurrency)
        if self.reference is not None:
            if self.reference not in REFERENCE_KINDS:
                raise ParameterError(
                    f"reference {self.reference!r} is not supported; use "
                    f"{' or '.join(REFERENCE_KINDS)}",
                    field="reference",
                )
            if self.request is None:
                raise ParameterError(
                    "a reference (scl) comes from the catalogue: it needs a catalogue search, "
                    "not a local stack (evaluate local masks against a reference with the "
                    "evaluate tool)",
                    field="reference",
                )
        if isinstance(self.products, Mapping):  # plain values from the QGIS side
            from tsmask_qgis.pipeline._products import ProductOptions

            set_(self, "products", ProductOptions(**self.products))
        if self.products is not None and not self.products.any:
            set_(self, "products", None)
        if isinstance(self.meta, Mapping):
            set_(self, "meta", tuple(sorted((str(k), str(v)) for k, v in self.meta.items())))

    @property
    def post_steps(self) -> bool:
        """True when the job runs the shadow geometry or a buffer in metres."""
        return self.shadow_geometry or self.cloud_buffer_m > 0 or self.shadow_buffer_m > 0

    @property
    def outputs(self) -> tuple[str, ...]:
        """The registry's formats this job writes, in the order it writes them:
        its ``formats``, true colour if asked for, the evaluation with a reference."""
        wanted = {*self.formats}
        if self.truecolour:
            wanted.add("truecolour")
        if self.reference:
            wanted.add("evaluation")
        from tsmask_qgis.pipeline._products import product_formats

        wanted.update(product_formats(self.products))
        return tuple(name for name in writers.FORMATS if name in wanted)

    def key(self) -> str:
        """A digest of the parameters that decide the outputs' content (for resume)."""
        return hashlib.sha256(
            json.dumps(self.describe(), sort_keys=True, default=str).encode()
        ).hexdigest()[:20]

    def describe(self) -> dict[str, Any]:
        """The content-deciding parameters as plain JSON values."""
        d: dict[str, Any] = {
            "preset": self.preset,
            "overrides": dict(self.overrides),
            "spatial": self.spatial,
            "truecolour": self.truecolour,
            "reference": self.reference,
            "outputs": list(self.outputs),
            "version": __version__,
        }
        if self.post_steps:  # (absent otherwise: the keys of earlier jobs stay valid)
            d["post_steps"] = {
                "shadow_geometry": self.shadow_geometry,
                "cloud_buffer_m": self.cloud_buffer_m,
                "shadow_buffer_m": self.shadow_buffer_m,
            }
        if self.products is not None:
            d["products"] = self.products.describe()
        if self.input is not None:
            d["input"] = input_digest(self.input)
        else:
            d["request"] = self.request.key()
        return d

    def preset_values(self) -> Any:
        """The preset with its overrides (an ``engine.Preset``)."""
        from tsmask_qgis.engine import get_preset

        return get_preset(self.preset, **dict(self.overrides))
