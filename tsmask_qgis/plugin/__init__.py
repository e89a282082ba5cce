"""The QGIS side of tsmask-qgis: plugin entry, dialog, background task, styling, Processing.

This package is the only one that imports ``qgis``. Its ``__init__`` imports
nothing heavy so that worker processes can import the few modules here that do
not need QGIS (:mod:`tsmask_qgis.plugin.deps`, :mod:`tsmask_qgis.plugin._worker`).
"""

__all__: list[str] = []
