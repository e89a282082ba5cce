"""Paletted styling from classes, temporal ranges, the result group."""

from __future__ import annotations

import datetime as dt

import numpy as np
from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer

from tests.plugin.conftest import write_mask
from tsmask_qgis.classes import CLASSES
from tsmask_qgis.plugin.layers import ResultLayers, add_result_layers
from tsmask_qgis.plugin.rasters import write_count
from tsmask_qgis.plugin.styling import apply_mask_style, save_sidecar


def test_mask_renderer_has_the_four_classes(qgis_app, mask_stack):
    path, _ = mask_stack
    layer = QgsRasterLayer(str(path), "m", "gdal")
    assert layer.isValid()
    apply_mask_style(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    got = [(c.value, c.label, c.color.name(), c.color.alpha()) for c in renderer.classes()]
    assert got == [(c.value, c.label, c.color, c.alpha) for c in CLASSES]
    assert got[0][3] == 0  # no observation is transparent
    assert len(renderer.legendSymbologyItems()) == 4
    qml = save_sidecar(layer)
    assert qml is not None and qml.read_text().count("paletteEntry") == 4
    again = QgsRasterLayer(str(path), "m2", "gdal")  # QGIS loads the sidecar itself
    assert isinstance(again.renderer(), QgsPalettedRasterRenderer)
    assert [c.label for c in again.renderer().classes()] == [c.label for c in CLASSES]


def test_add_result_layers(qgis_app, qgis_new_project, tmp_path):
    dates = [dt.date(2020, 1, 1), dt.date(2020, 1, 6)]
    masks = {}
    for i, d in enumerate(dates):
        data = np.full((1, 6, 5), 1 + i, dtype=np.uint8)
        masks[d] = write_mask(tmp_path / f"mask_{d}.tif", data)
    rgb = {d: write_mask(tmp_path / f"rgb_{d}.tif", np.zeros((3, 6, 5), np.uint8)) for d in dates}
    count = write_count(list(masks.values()), tmp_path / "count.tif")
    group = add_result_layers(
        ResultLayers(masks=masks, truecolour=rgb, count=count), group_name="tsmask test 2020"
    )
    project = QgsProject.instance()
    assert project.layerTreeRoot().children()[0] is group
    names = [n.name() for n in group.children()]
    assert names == ["mask 2020-01-01", "mask 2020-01-06", "true colour", "clear observations"]
    for node, d in zip(group.findLayers()[:2], dates, strict=True):
        layer = node.layer()
        assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
        props = layer.temporalProperties()
        assert props.isActive()
        rng = props.fixedTemporalRange()
        assert rng.begin().date().toPyDate() == d
        assert rng.end().date().toPyDate() == d + dt.timedelta(days=1)
        assert rng.includeBeginning() and not rng.includeEnd()
        assert (tmp_path / f"mask_{d}.qml").exists()
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
