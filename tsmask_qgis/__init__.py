"""tsmask-qgis: cloud and cloud-shadow masks for Sentinel-2 time series.

The engine (``tsmask_qgis.engine``), loaders, writers and the ``tsmask``
command import without QGIS. QGIS itself calls :func:`classFactory`, which
imports the plugin lazily.
"""

__version__ = "0.1.0"


def classFactory(iface):
    """Entry point QGIS calls to load the plugin."""
    from tsmask_qgis.plugin.plugin import TsmaskPlugin

    return TsmaskPlugin(iface)
