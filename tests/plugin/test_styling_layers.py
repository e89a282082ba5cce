"""Paletted styling from classes, temporal ranges, the result group."""

from __future__ import annotations

import datetime as dt

import numpy as np
from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer

from tests.plugin.conftest import write_mask
from tsmask_qgis.classes import CLASSES, STYLES
from tsmask_qgis.plugin.layers import ResultLayers, add_result_layers
from tsmask_qgis.plugin.styling import apply_mask_style, save_sidecar


def test_mask_renderer_has_the_four_classes(qgis_app, mask_stack):
    path, _ = mask_stack
    layer = QgsRasterLayer(str(path), "m", "gdal")
    assert layer.isValid()
    apply_mask_style(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    got = [(c.value, c.label, c.color.name(), c.color.alpha()) for c in renderer.classes()]
    check = STYLES["check"]
    assert got == [(c.value, c.label, check.hex(c.value), check.rgba(c.value)[3]) for c in CLASSES]
    assert got[0][3] == 0 and got[1][3] == 0  # no observation and clear are transparent
    assert len(renderer.legendSymbologyItems()) == 4
    qml = save_sidecar(layer)
    assert qml is not None and qml.read_text().count("paletteEntry") == 4
    again = QgsRasterLayer(str(path), "m2", "gdal")  # QGIS loads the sidecar itself
    assert isinstance(again.renderer(), QgsPalettedRasterRenderer)
    assert [c.label for c in again.renderer().classes()] == [c.label for c in CLASSES]


def _clear_count(path, data):
    """The writers' clear-observation count of ``data`` (dates, y, x) on a small UTM grid."""
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_zeros

    from tsmask_qgis.writers import write_clear_count

    t, h, w = data.shape
    box = (690000, 6080000, 690000 + w * 20, 6080000 + h * 20)
    gb = GeoBox.from_bbox(box, crs="EPSG:32755", resolution=20)
    times = np.array(["2020-01-01", "2020-01-06"][:t], dtype="datetime64[ns]")
    coords = dict(xr_zeros(gb, dtype="uint8").coords)
    mask = xr.DataArray(data, dims=("time", "y", "x"), coords={"time": times, **coords})
    return write_clear_count(mask, path)


def test_add_result_layers(qgis_app, qgis_new_project, tmp_path):
    dates = [dt.date(2020, 1, 1), dt.date(2020, 1, 6)]
    labels = [d.isoformat() for d in dates]
    masks = {}
    for i, label in enumerate(labels):
        data = np.full((1, 6, 5), 1 + i, dtype=np.uint8)
        masks[label] = write_mask(tmp_path / f"mask_{label}.tif", data)
    rgb = {
        lb: write_mask(tmp_path / f"rgb_{lb}.tif", np.zeros((3, 6, 5), np.uint8)) for lb in labels
    }
    stack = np.stack([np.full((6, 5), 1 + i, np.uint8) for i in range(2)])
    count = _clear_count(tmp_path / "count.tif", stack)
    # acquisition times as the result carries them (the second listed first: order by time)
    times = {labels[1]: dt.datetime(2020, 1, 6, 0, 1, 2), labels[0]: dt.datetime(2020, 1, 1, 23)}
    group = add_result_layers(
        ResultLayers(masks=masks, times=times, truecolour=rgb, count=count),
        group_name="tsmask test 2020",
    )
    project = QgsProject.instance()
    assert project.layerTreeRoot().children()[0] is group
    names = [n.name() for n in group.children()]
    # no summary given: the mask layers are named by their date alone
    assert names == ["2020-01-01", "2020-01-06", "true colour", "clear observations"]
    for node, d in zip(group.findLayers()[:2], dates, strict=True):
        layer = node.layer()
        assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
        props = layer.temporalProperties()
        assert props.isActive()
        rng = props.fixedTemporalRange()
        assert rng.begin().date().toPyDate() == d
        assert rng.end().date().toPyDate() == d + dt.timedelta(days=1)
        assert rng.includeBeginning() and not rng.includeEnd()
        # the style is QGIS's own (from classes.py); the writers' .qml sidecar is theirs alone
        assert not (tmp_path / f"mask_{d}.qml").exists()
    rgb_layers = [n.layer() for n in group.children()[2].findLayers()]
    assert [
        lyr.temporalProperties().fixedTemporalRange().begin().date().toPyDate()
        for lyr in rgb_layers
    ] == dates
    count_layer = group.findLayers()[-1].layer()
    assert count_layer.renderer().type() == "singlebandpseudocolor"
    # count: date 1 all clear (1), date 2 all cloud (2) -> one clear observation everywhere
    import rasterio

    with rasterio.open(count) as src:
        assert (src.read(1) == 1).all()
