"""Writer round trips: every format read back with rasterio / netCDF4."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import netCDF4
import numpy as np
import pytest
import rasterio

from tests.writers.conftest import make_mask
from tsmask_qgis import writers
from tsmask_qgis.classes import CLASSES, STYLES

LABELS = ["2021-01-03", "2021-01-13", "2021-01-23", "2021-02-02"]


def _check_grid(ds, mask):
    assert ds.crs.to_epsg() == 32755
    assert ds.transform.almost_equals(mask.odc.geobox.affine)
    assert (ds.height, ds.width) == mask.shape[1:]


def test_cogs_round_trip(tmp_path, mask):
    paths = writers.write_cogs(mask, tmp_path)
    assert [p.name for p in paths] == [f"tsmask_{d}.tif" for d in LABELS]
    for t, p in enumerate(paths):
        with rasterio.open(p) as ds:
            _check_grid(ds, mask)
            assert ds.count == 1 and ds.dtypes[0] == "uint8" and ds.nodata == 0
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            np.testing.assert_array_equal(ds.read(1), mask[t].values)
            assert ds.descriptions == (LABELS[t],)
            cmap = ds.colormap(1)
            for c in CLASSES:
                assert cmap[c.value][:3] == c.rgba[:3]
            assert ds.tags()["CLASS_3"] == "cloud_shadow"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_cog_overviews_use_mode(tmp_path):
    mask = make_mask(1, 300, 300)
    mask[0, :, :] = 1
    mask[0, 100:140, 100:140] = 2  # one block of cloud
    (path,) = writers.write_cogs(mask, tmp_path, blocksize=128)
    with rasterio.open(path) as ds:
        assert ds.overviews(1)[:2] == [2, 4]
        ov = ds.read(1, out_shape=(150, 150))
    assert set(np.unique(ov)) <= {1, 2}  # mode never invents a class
    assert (ov[50:70, 50:70] == 2).all() and ov[0, 0] == 1
    with pytest.raises(ValueError, match="MODE or NEAREST"):
        writers.write_cogs(mask, tmp_path / "x", resampling="AVERAGE")


def test_multiband_round_trip(tmp_path, mask):
    path = writers.write_multiband(mask, tmp_path / "mb.tif")
    with rasterio.open(path) as ds:
        _check_grid(ds, mask)
        assert ds.count == 4 and ds.nodata == 0
        assert list(ds.descriptions) == LABELS
        np.testing.assert_array_equal(ds.read(), mask.values)
        assert ds.tags()["DATES"] == ",".join(LABELS)


def test_netcdf_cf_round_trip(tmp_path, mask):
    path = writers.write_netcdf(mask, tmp_path / "m.nc", attrs={"preset": "seed", "o": {"a": 1}})
    with netCDF4.Dataset(path) as nc:
        assert nc.Conventions == "CF-1.8" and nc.preset == "seed" and json.loads(nc.o) == {"a": 1}
        v = nc["tsmask"]
        assert v.dtype == np.uint8 and v.dimensions == ("time", "y", "x")
        assert list(v.flag_values) == [0, 1, 2, 3]
        assert v.flag_meanings == "no_observation clear cloud cloud_shadow"
        assert v.grid_mapping == "spatial_ref"
        assert v.filters()["zlib"] and v.chunking() == [1, 30, 40]
        assert "_FillValue" not in v.ncattrs()  # 0 is a class, not missing data
        gm = nc["spatial_ref"]
        assert gm.grid_mapping_name == "transverse_mercator"
        assert "UTM zone 55S" in gm.crs_wkt
        assert nc["x"].standard_name == "projection_x_coordinate"
        assert nc["time"].units.startswith("seconds since 1970")
        times = netCDF4.num2date(nc["time"][:], nc["time"].units)
        assert [t.strftime("%Y-%m-%d") for t in times] == LABELS
        v.set_auto_mask(False)
        np.testing.assert_array_equal(v[:], mask.values)
        np.testing.assert_allclose(nc["x"][:], mask.x.values)
    with rasterio.open(f"netcdf:{path}:tsmask") as ds:  # GDAL sees the georeference
        _check_grid(ds, mask)
    back = writers.read_netcdf_mask(path)
    np.testing.assert_array_equal(back.values, mask.values)
    assert back.odc.geobox.affine == mask.odc.geobox.affine


def test_envi_like_the_notebook(tmp_path, mask):
    path = writers.write_envi(mask, tmp_path / "tsmask.img")
    hdr = (tmp_path / "tsmask.hdr").read_text()
    assert "band names = {\n2021-01-03,\n2021-01-13,\n2021-01-23,\n2021-02-02}" in hdr
    assert "class names = {No observation, Clear, Cloud, Cloud shadow}" in hdr
    assert ".tsmask-tmp" not in hdr
    with rasterio.open(path) as ds:
        assert ds.driver == "ENVI" and list(ds.descriptions) == LABELS
        _check_grid(ds, mask)
        np.testing.assert_array_equal(ds.read(), mask.values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tsmask.hdr", "tsmask.img"]


def _entries(path):
    r = ET.parse(path).getroot().find("pipe/rasterrenderer")
    assert r.get("type") == "paletted" and r.get("band") == "1"
    return [
        (e.get("value"), e.get("color"), e.get("alpha"), e.get("label"))
        for e in r.findall("colorPalette/paletteEntry")
    ]


def test_qml_palette(tmp_path):
    """The sidecar draws the checking style (clear and no observation transparent); the
    filled palette (the COG's colour table) is the other choice."""
    check = STYLES["check"]
    assert _entries(writers.write_qml(tmp_path / "m.qml")) == [
        (str(c.value), check.hex(c.value), str(check.rgba(c.value)[3]), c.label) for c in CLASSES
    ]
    got = _entries(writers.write_qml(tmp_path / "f.qml", style_name="filled"))
    assert got == [(str(c.value), c.color, str(c.alpha), c.label) for c in CLASSES]
    assert got[0][2] == "0" and got[1][2] == "255"
    with pytest.raises(ValueError, match="unknown mask style 'x': use one of check, filled"):
        writers.qml_text(style_name="x")


def _qgis_available() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import qgis.core"], capture_output=True, timeout=60
    )
    return probe.returncode == 0


def test_qml_loads_in_qgis_as_paletted(tmp_path, mask):
    """QGIS itself applies the sidecars the registry names beside a multi-band raster
    and a per-date COG (subprocess: only plugin/ may import qgis here): the four
    classes of tsmask_qgis.classes, no observation transparent, in the legend."""
    if not _qgis_available():
        pytest.skip("QGIS is not importable")
    tif = writers.write_multiband(mask, tmp_path / "m.tif")
    writers.write_qml(tmp_path / "m.qml")
    cogs = [f.path for f in writers.FORMATS["cog"].files(LABELS, out=tmp_path)]
    writers.write_cogs(mask, tmp_path, paths=cogs)
    cog = cogs[0]
    for f in writers.FORMATS["qml"].files(LABELS, out=tmp_path, among=("cog",)):
        writers.write_qml(f.path)
    code = (
        "from qgis.core import QgsApplication, QgsRasterLayer\n"
        "app = QgsApplication([], False); app.initQgis()\n"
        f"for path in ({str(tif)!r}, {str(cog)!r}):\n"
        "    layer = QgsRasterLayer(path, 'm')\n"
        "    msg, ok = layer.loadDefaultStyle()\n"
        "    r = layer.renderer()\n"
        "    print(ok, r.type(), len(r.legendSymbologyItems()), [(int(c.value), "
        "c.color.name(), c.color.alpha(), c.label) for c in r.classes()])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    check = STYLES["check"]
    expected = [(c.value, check.hex(c.value), check.rgba(c.value)[3], c.label) for c in CLASSES]
    assert out.stdout.strip().splitlines() == [f"True paletted 4 {expected}"] * 2, out.stderr


def test_truecolour_cogs(tmp_path, mask, refl):
    paths = writers.write_truecolour(refl, tmp_path)
    assert [p.name for p in paths] == [f"truecolour_{d}.tif" for d in LABELS]
    with rasterio.open(paths[0]) as ds:
        _check_grid(ds, mask)
        assert ds.count == 4 and ds.dtypes == ("uint8",) * 4
        assert ds.colorinterp[3].name == "alpha"
        rgba = ds.read()
    assert rgba[3, 0, 0] == 0 and (rgba[3].ravel()[1:] == 255).all()  # NaN red -> transparent
    red = refl["red"][0].values
    expect = 1 + np.round(np.clip(red / 0.3, 0, 1) * 254)
    np.testing.assert_array_equal(rgba[0].ravel()[1:], expect.ravel()[1:])


def test_truecolour_from_scaled_integers(mask, refl):
    ints = (refl * 10000).fillna(-999).astype("int16")
    for b in ints.data_vars:
        ints[b].attrs["nodata"] = -999
    a = writers.truecolour_rgba(ints, 0)
    b = writers.truecolour_rgba(refl, 0)
    assert a[3, 0, 0] == 0
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_clear_count(tmp_path, mask):
    path = writers.write_clear_count(mask, tmp_path / "count.tif")
    with rasterio.open(path) as ds:
        _check_grid(ds, mask)
        assert ds.descriptions == ("clear observations", "observations")
        np.testing.assert_array_equal(ds.read(1), (mask.values == 1).sum(axis=0))
        np.testing.assert_array_equal(ds.read(2), (mask.values != 0).sum(axis=0))


def test_summary_csv_json(tmp_path, mask):
    m = mask.copy()
    m[1] = 0  # a date with nothing observed
    m[2] = 1
    m[2, :3, :] = 2
    m[2, 3:6, :] = 3
    summary = writers.summarise(m)
    s2 = summary[2]
    assert (s2.cloud, s2.shadow, s2.clear, s2.no_observation) == (120, 120, 960, 0)
    assert s2.cloud_pct == pytest.approx(10.0) and s2.clear_pct_observed == pytest.approx(80.0)
    writers.write_summary(summary, tmp_path / "s.csv", tmp_path / "s.json")
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["date"] for r in rows] == LABELS
    assert rows[2]["cloud_pct"] == "10.0" and rows[2]["shadow_pct_observed"] == "10.0"
    assert rows[1]["cloud_pct_observed"] == "" and rows[1]["no_observation_pct"] == "100.0"
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["dates"][1]["cloud_pct_observed"] is None
    assert doc["dates"][2]["clear"] == 960
    table = writers.format_table(summary)
    assert "2021-01-23" in table and " 80.0" in table


# A PNG has no georeference: rasterio says so when the test opens one to read its size.
@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_pictures(tmp_path, mask, refl):
    summary = writers.summarise(mask)
    chart = writers.write_chart(summary, tmp_path / "chart.png")
    ql = writers.write_quicklook(mask, refl, "2021-01-13", tmp_path / "ql.png")
    for p in (chart, ql):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with rasterio.open(p) as ds:
            assert ds.width > 300
    with pytest.raises(ValueError, match="no date 2030"):
        writers.write_quicklook(mask, refl, "2030-01-01", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    picks = writers.pick_dates(summary, count=3)
    assert len(picks) == 3 and picks == sorted(picks)


def test_rejects_bad_masks(tmp_path, mask):
    with pytest.raises(ValueError, match="dims"):
        writers.write_cogs(mask.rename(x="lon"), tmp_path)
    bad = mask.copy()
    bad[0, 0, 0] = 7
    with pytest.raises(ValueError, match="outside the classes"):
        writers.write_netcdf(bad, tmp_path / "bad.nc")
    assert list(tmp_path.iterdir()) == []
