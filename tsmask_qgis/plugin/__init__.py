"""The QGIS side of tsmask-qgis: plugin entry, dialog, background task, styling, Processing.

This package is the only one that imports ``qgis``; its ``__init__`` imports
nothing, so :mod:`tsmask_qgis.plugin.deps` (no ``qgis``) can be imported alone.
"""

__all__: list[str] = []
