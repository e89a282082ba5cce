"""Every tsmask Processing algorithm through processing.run."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
)

from tests.plugin import spec
from tests.plugin.conftest import write_mask


def _read(path):
    with rasterio.open(path) as src:
        return src.read(), list(src.descriptions), src.crs, src.transform


@pytest.mark.parametrize(
    ("alg", "extra", "oracle"),
    [
        ("tsmask:seed_filter", {}, spec.seed_filter),
        ("tsmask:buffer", {}, spec.seed_buffer),
        ("tsmask:majority_filter", {"PASSES": 2}, lambda im: spec.majority(spec.majority(im))),
    ],
)
def test_mask_tools_match_the_spec(processing_ready, mask_stack, tmp_path, alg, extra, oracle):
    import processing

    path, data = mask_stack
    out = tmp_path / f"{alg.split(':')[1]}.tif"
    result = processing.run(alg, {"INPUT": str(path), "OUTPUT": str(out), **extra})
    assert result["OUTPUT"] == str(out)
    got, names, crs, transform = _read(out)
    expected = np.stack([oracle(band) for band in data])
    np.testing.assert_array_equal(got, expected)
    assert names == ["2020-01-01", "2020-01-06", "2020-01-11"]
    src = _read(path)
    assert (crs, transform) == (src[2], src[3])
    assert not list(tmp_path.glob(".*"))  # no temporary file left
    assert "numba" not in sys.modules


def test_seed_filter_removes_an_isolated_pixel(processing_ready, tmp_path):
    import processing

    img = np.ones((1, 5, 5), np.uint8)
    img[0, 2, 2] = 3
    src = write_mask(tmp_path / "one.tif", img)
    out = processing.run("tsmask:seed_filter", {"INPUT": str(src), "OUTPUT": "TEMPORARY_OUTPUT"})
    assert (_read(out["OUTPUT"])[0] == 1).all()


def test_output_is_styled_when_loaded(
    processing_ready, mask_stack, tmp_path, qgis_new_project, qgis_iface, monkeypatch
):
    import processing
    from qgis.core import QgsLayerTreeModel
    from qgis.gui import QgsLayerTreeView

    # Post-processing passes iface.layerTreeView() to C++ (QGIS 3.44): give pytest-qgis's
    # stand-in iface a real view of the project's layer tree, as the desktop has.
    view = QgsLayerTreeView()
    view.setModel(QgsLayerTreeModel(QgsProject.instance().layerTreeRoot(), view))
    monkeypatch.setattr(qgis_iface, "layerTreeView", lambda: view)
    path, _ = mask_stack
    out = tmp_path / "styled.tif"
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    result = processing.runAndLoadResults(
        "tsmask:buffer",
        {"INPUT": str(path), "OUTPUT": str(out)},
        context=context,
        feedback=feedback,
    )
    layers = [
        lyr
        for lyr in QgsProject.instance().mapLayers().values()
        if lyr.source() == result["OUTPUT"]
    ]
    assert layers, "output not loaded"
    renderer = layers[0].renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [c.value for c in renderer.classes()] == [0, 1, 2, 3]
    assert out.with_suffix(".qml").exists()


def test_cancel_leaves_no_output(processing_ready, mask_stack, tmp_path):
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import Qt

    from tsmask_qgis.jobs import client

    path, _ = mask_stack
    out = tmp_path / "cancelled.tif"
    alg = QgsApplication.processingRegistry().createAlgorithmById("tsmask:seed_filter")
    context = QgsProcessingContext()
    feedback = QgsProcessingFeedback()
    # Cancel as soon as the workers report their first finished dates (3 dates: 3 reports).
    # (Direct: the algorithm runs on its own thread, as Processing's background runs do.)
    feedback.progressChanged.connect(
        lambda _: feedback.cancel(), Qt.ConnectionType.DirectConnection
    )
    t0 = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.processAlgorithm(
            {"INPUT": str(path), "OUTPUT": str(out), "WORKERS": 2}, context, feedback
        )
    assert time.monotonic() - t0 < 10
    assert list(tmp_path.iterdir()) == [path]
    assert client.busy() == []


def test_not_a_mask_is_refused(processing_ready, tmp_path):
    import processing

    src = write_mask(tmp_path / "dn.tif", np.full((1, 4, 4), 900, np.int16))
    with pytest.raises(QgsProcessingException, match="not a tsmask class raster"):
        processing.run("tsmask:seed_filter", {"INPUT": str(src), "OUTPUT": "TEMPORARY_OUTPUT"})


def test_summary_table(processing_ready, mask_stack):
    import processing

    path, data = mask_stack
    result = processing.run("tsmask:summary", {"INPUT": str(path), "OUTPUT": "memory:"})
    layer = result["OUTPUT"]
    rows = [f.attributes() for f in layer.getFeatures()]
    assert [r[1] for r in rows] == ["2020-01-01", "2020-01-06", "2020-01-11"]
    for row, band in zip(rows, data, strict=True):
        n = band.size
        assert row[2:6] == pytest.approx([100 * (band == v).sum() / n for v in range(4)])
        observed = (band != 0).sum()
        assert row[6] == pytest.approx(100 * np.isin(band, (2, 3)).sum() / observed)
        assert sum(row[2:6]) == pytest.approx(100)


def test_algorithms_are_well_formed(processing_ready):
    from qgis.core import QgsApplication

    from tsmask_qgis.plugin import compat

    provider = QgsApplication.processingRegistry().providerById("tsmask")
    for alg in provider.algorithms():
        assert alg.shortHelpString(), alg.id()
        fresh = alg.createInstance()
        assert type(fresh) is type(alg) and fresh is not alg
    detect = provider.algorithm("detect_local")
    advanced = {
        p.name() for p in detect.parameterDefinitions() if p.flags() & compat.PARAMETER_ADVANCED
    }
    assert {"WORKERS", "RUNNER", "CLOUD_SPIKE", "SHADOW_SPIKE", "BRIGHTNESS"} <= advanced
    runner = detect.parameterDefinition("RUNNER")
    assert runner.defaultValue() == 0 and len(runner.options()) == 4  # automatic first
    preset = detect.parameterDefinition("PRESET")
    assert preset.options()[preset.defaultValue()] == "dea"  # the default preset
    tool = provider.algorithm("seed_filter").parameterDefinition("RUNNER")
    assert tool.flags() & compat.PARAMETER_ADVANCED


def test_detect_local(processing_ready, scene_nc, tmp_path):
    import processing

    path, scene = scene_nc
    out = tmp_path / "mask.tif"
    processing.run("tsmask:detect_local", {"INPUT": str(path), "PRESET": 0, "OUTPUT": str(out)})
    got, names, crs, transform = _read(out)
    assert got.shape == (12, 16, 16) and got.dtype == np.uint8
    assert set(np.unique(got)) <= {0, 1, 2, 3} and (got == 1).any() and (got >= 2).any()
    assert names[:2] == ["2017-01-01", "2017-01-06"]
    assert crs.to_epsg() == 32755 and transform.c == 690000.0
    # the synthetic truth agrees with most pixels (the method is not perfect)
    truth = scene.truth.values
    assert (got == truth).mean() > 0.6
    assert "numba" not in sys.modules


def _write_dated(folder, data, dates, **kw):
    """One single-band GeoTIFF per date, named like catalogue files (date in the folder)."""
    for band, day in zip(data, dates, strict=True):
        sub = folder / f"S2A_55HFA_{day.replace('-', '')}_0_L2A"
        sub.mkdir(parents=True)
        write_mask(sub / "SCL.tif", band[None], **kw)
    return folder


def test_compare_masks_matches_dates_and_nodata(processing_ready, mask_stack, tmp_path):
    import processing

    from tsmask_qgis.evaluate import compare

    path, data = mask_stack  # dates 2020-01-01, 2020-01-06, 2020-01-11
    # An SCL reference for the last two dates and one the mask lacks; 255 = nodata.
    to_scl = np.array([0, 4, 8, 3], np.uint8)  # no obs., vegetation, cloud, shadow
    scl = to_scl[data[1:]]
    scl[0][data[1] == 1] = 9  # the reference calls the first date's clear pixels cloud
    scl[1, :2, :] = 255
    extra = np.full((1, *data.shape[1:]), 4, np.uint8)
    ref = _write_dated(
        tmp_path / "scl",
        np.concatenate([scl, extra]),
        ["2020-01-06", "2020-01-11", "2020-02-01"],
        nodata=255,
    )
    out = tmp_path / "report.html"
    result = processing.run(
        "tsmask:compare_masks",
        {
            "MASK": str(path),
            "REFERENCE_FOLDER": str(ref),
            "REFERENCE_KIND": 1,
            "OUTPUT_HTML": str(out),
        },
    )
    expected_ref = scl.copy()
    expected_ref[expected_ref == 255] = 0
    expected = compare(data[1:], expected_ref, reference_kind="scl")
    assert result["MATCHED_DATES"] == 2
    assert result["OVERALL_ACCURACY"] == pytest.approx(expected.overall_accuracy)
    assert result["CLOUD_SHADOW_F1"] == pytest.approx(expected.f1)
    assert expected.overall_accuracy < 1.0
    html = out.read_text()
    assert "<table" in html.lower() and "2020-02-01" in html and "2020-01-01" in html
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_compare_masks_grid_check_and_resample(processing_ready, mask_stack, tmp_path):
    import processing
    from rasterio.transform import from_origin

    from tsmask_qgis.evaluate import compare

    path, data = mask_stack
    names = ["2020-01-01", "2020-01-06", "2020-01-11"]
    coarse = data[:, ::2, ::2]  # a 40 m reference over the same area
    ref = write_mask(
        tmp_path / "ref40.tif", coarse, names, transform=from_origin(690_000, 6_090_000, 40, 40)
    )
    params = {"MASK": str(path), "REFERENCE": str(ref), "OUTPUT_HTML": str(tmp_path / "r.html")}
    with pytest.raises(QgsProcessingException, match="same grid"):
        processing.run("tsmask:compare_masks", params)
    result = processing.run("tsmask:compare_masks", {**params, "RESAMPLE": True})
    upsampled = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2)
    expected = compare(data, upsampled)
    assert result["MATCHED_DATES"] == 3
    assert result["OVERALL_ACCURACY"] == pytest.approx(expected.overall_accuracy)


def test_background_processing_runs_twice(processing_ready, mask_stack, tmp_path, qgis_app):
    """As the Processing dialog runs algorithms: QgsProcessingAlgRunnerTask, twice."""
    from qgis.core import QgsApplication, QgsProcessingAlgRunnerTask, QgsTask

    from tests.plugin.test_task import _start, _wait

    path, _ = mask_stack
    alg = QgsApplication.processingRegistry().createAlgorithmById("tsmask:compare_masks")
    for i in range(2):
        context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
        params = {
            "MASK": str(path),
            "REFERENCE": str(path),
            "OUTPUT_HTML": str(tmp_path / f"{i}.html"),
        }
        task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
        got: list = []
        task.executed.connect(lambda ok, results, got=got: got.append((ok, results)))
        assert _wait(_start(task), qgis_app, timeout=60) == QgsTask.TaskStatus.Complete
        ((ok, results),) = got
        assert ok and results["OVERALL_ACCURACY"] == 1.0


def test_detect_local_with_options(processing_ready, scene_nc, tmp_path):
    """Shadow geometry, buffers and seed's thin-cloud rule as parameters of detect_local."""
    import processing
    from qgis.core import QgsProcessingException

    from tsmask_qgis.plugin.processing.detect import PRESETS, THIN_CLOUD_MODES

    path, _ = scene_nc
    plain, geo = tmp_path / "plain.tif", tmp_path / "geo.tif"
    processing.run("tsmask:detect_local", {"INPUT": str(path), "OUTPUT": str(plain)})
    params = {"INPUT": str(path), "SHADOW_GEOMETRY": True, "CLOUD_BUFFER": 40.0}
    processing.run("tsmask:detect_local", {**params, "OUTPUT": str(geo)})
    a, b = _read(plain)[0], _read(geo)[0]
    assert ((a == 0) == (b == 0)).all() and (b[a == 2] == 2).all() and (a != b).any()
    bad = {
        "INPUT": str(path),
        "PRESET": PRESETS.index("dea"),
        "THIN_CLOUD": THIN_CLOUD_MODES.index("temporal"),
        "OUTPUT": str(tmp_path / "bad.tif"),
    }
    with pytest.raises(QgsProcessingException, match="option of the seed preset"):
        processing.run("tsmask:detect_local", bad)
    assert "numba" not in sys.modules
