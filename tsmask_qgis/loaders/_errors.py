"""The loaders' errors, from the one error tree (:mod:`tsmask_qgis.errors`)."""

from __future__ import annotations

from tsmask_qgis.errors import (
    FetchError,
    InputError,
    LoadError,
    ParameterError,
    ReadError,
    SearchError,
)

__all__ = ["FetchError", "InputError", "LoadError", "ParameterError", "ReadError", "SearchError"]
