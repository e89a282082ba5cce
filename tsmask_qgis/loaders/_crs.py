"""Checking a request's output CRS: its form in the standard library, its meaning with PROJ.

A CRS is given as an EPSG code (``32755``, ``"EPSG:32755"``) or as any text PROJ reads
(WKT, a PROJ string, PROJJSON, a URN, another authority's code, a CRS name).

- :func:`crs_text` checks the *form* (standard library only): it refuses what cannot be
  a CRS at all and writes EPSG codes as ``EPSG:n``.
- :func:`projected_crs` checks the *meaning* with PROJ (through odc-geo): an unknown
  CRS or a geographic one (degrees) is refused; the result is ``EPSG:n`` when PROJ
  finds the code, else the WKT.

:func:`proj_allowed` says whether the meaning may be checked in this process right away.
It may not in the QGIS desktop: its binary puts Debian's GDAL and PROJ in the global
symbol scope, where pyproj's or rasterio's wheels bind to the wrong library
(``docs/api.md``), so there a :class:`Request` is checked in form only and in full where
it is used (:meth:`Request.check`, first thing in ``search``/``load``/``estimate`` and in
``geobox()``), before any download. A plain Python (the command line, the plugin's child
process, notebooks, pytest with pytest-qgis) loads those libraries inside extension
modules only, so the meaning is checked at construction there, as it always was.
"""

from __future__ import annotations

import numbers
import re
import sys
from typing import Any

from tsmask_qgis.errors import ParameterError

__all__ = ["crs_text", "proj_allowed", "projected_crs"]

_EPSG = re.compile(r"(?:epsg\s*:\s*)?(\d+)", re.IGNORECASE)
#: Functions of GDAL and PROJ: visible in the global symbol scope only when a program
#: (the QGIS binary) links those libraries itself.
_GLOBAL_SYMBOLS = ("proj_context_create", "GDALAllRegister")


def _shown(crs: Any) -> Any:
    """How a message names the CRS given: an integer as the EPSG code it stands for."""
    if isinstance(crs, numbers.Integral) and not isinstance(crs, bool):
        return f"EPSG:{int(crs)}"
    return crs


def _not_a_crs(crs: Any) -> ParameterError:
    return ParameterError(f"crs {_shown(crs)!r} is not a CRS; give e.g. EPSG:32755", field="crs")


def crs_text(crs: Any) -> str:
    """The CRS as text, EPSG codes as ``EPSG:n``; refuses what cannot be a CRS at all."""
    if isinstance(crs, bool) or not isinstance(crs, numbers.Integral | str):
        raise _not_a_crs(crs)
    text = str(int(crs) if isinstance(crs, numbers.Integral) else crs).strip()
    if m := _EPSG.fullmatch(text):
        if int(m.group(1)) <= 0:
            raise _not_a_crs(crs)
        return f"EPSG:{int(m.group(1))}"
    if not text:
        raise _not_a_crs(crs)
    return text


def projected_crs(crs: Any) -> str:
    """The CRS checked by PROJ: ``EPSG:n`` (or WKT) of a known, projected CRS."""
    from odc.geo import CRS

    text = crs_text(crs)
    try:
        parsed = CRS(text)
    except Exception:
        raise _not_a_crs(crs) from None
    if parsed.geographic:
        raise ParameterError(
            f"crs {_shown(crs)!r} is geographic (degrees); give a projected CRS in metres, "
            "e.g. the UTM zone EPSG:327zz, or leave crs unset",
            field="crs",
        )
    epsg = parsed.epsg
    return f"EPSG:{epsg}" if epsg is not None else parsed.to_wkt()


def _geo_libraries_global() -> bool:
    """Whether GDAL or PROJ is in this process's global symbol scope (the QGIS binary)."""
    try:
        import ctypes

        program = ctypes.CDLL(None)
    except (OSError, TypeError, AttributeError):  # no dlopen(NULL) (Windows)
        return False
    return any(hasattr(program, name) for name in _GLOBAL_SYMBOLS)


def proj_allowed() -> bool:
    """Whether PROJ may check a CRS in this process now: it is loaded already, or this is
    not a process (the QGIS desktop) where importing its wheel is unsafe."""
    if "odc.geo" in sys.modules or "pyproj" in sys.modules:
        return True
    return not _geo_libraries_global()
