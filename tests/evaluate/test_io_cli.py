"""Reading masks from files and the ``tsmask evaluate`` command, on files written here."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from tsmask_qgis.cli.evaluate import register
from tsmask_qgis.evaluate import make_scene
from tsmask_qgis.evaluate.io import load_mask, match_grid

CRS = "EPSG:32755"


@pytest.fixture(scope="module")
def scene():
    return make_scene(shape=(5, 30, 40), seed=21, missing_dates=0.0)


def _transform(scene):
    return scene.ds.odc.geobox.transform


def _labels(scene):
    return [str(t)[:10] for t in scene.ds.time.values]


def _write_tif(path, arr, scene, *, nodata=0, transform=None):
    """A (bands, y, x) GeoTIFF on the scene's grid (or on ``transform``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dst = rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype,
        crs=CRS,
        transform=transform or _transform(scene),
        nodata=nodata,
    )
    dst.write(arr)
    return dst


def write_multiband(path, arr, scene, *, descriptions=True, nodata=0):
    with _write_tif(path, arr, scene, nodata=nodata) as dst:
        for i, label in enumerate(_labels(scene), start=1):
            if descriptions:
                dst.set_band_description(i, label)
            else:
                dst.update_tags(i, DATE=label)


def write_single(path, arr2d, scene, *, nodata=0, transform=None):
    _write_tif(path, arr2d[np.newaxis], scene, nodata=nodata, transform=transform).close()


def to_scl(truth):
    """A plausible SCL rendering of our classes (vegetation 4, cloud high 9, shadow 3)."""
    return np.choose(truth, [0, 4, 9, 3]).astype(np.uint8)


@pytest.mark.parametrize("descriptions", [True, False])
def test_multiband_geotiff(tmp_path, scene, descriptions):
    path = tmp_path / "m.tif"
    write_multiband(path, scene.truth.values, scene, descriptions=descriptions)
    da = load_mask(path)
    assert da.dims == ("time", "y", "x")
    np.testing.assert_array_equal(da.values, scene.truth.values)
    np.testing.assert_array_equal(da.time.values, scene.ds.time.values)
    np.testing.assert_allclose(da.x.values, scene.ds.x.values)
    np.testing.assert_allclose(da.y.values, scene.ds.y.values)
    assert da.odc.crs.epsg == 32755


def test_folder_of_dated_files_with_catalogue_names(tmp_path, scene):
    # Earth Search style: the date is in the item folder name, the file is SCL.tif.
    for label, t in zip(_labels(scene), scene.truth.values, strict=True):
        write_single(
            tmp_path / f"S2B_55HFA_{label.replace('-', '')}_0_L2A" / "SCL.tif", to_scl(t), scene
        )
    da = load_mask(tmp_path, kind="scl")
    np.testing.assert_array_equal(da.time.values, scene.ds.time.values)
    np.testing.assert_array_equal(da.values, to_scl(scene.truth.values))


def test_folder_without_dates_is_explained(tmp_path, scene):
    write_single(tmp_path / "a.tif", scene.truth.values[0], scene)
    with pytest.raises(ValueError, match="cannot tell its date"):
        load_mask(tmp_path)


def test_folder_mixing_grids_is_explained(tmp_path, scene):
    write_single(tmp_path / "m_2017-01-01.tif", scene.truth.values[0], scene)
    write_single(
        tmp_path / "m_2017-01-06.tif",
        scene.truth.values[1],
        scene,
        transform=Affine(20, 0, 0, 0, -20, 0),
    )
    with pytest.raises(ValueError, match="not on the same grid"):
        load_mask(tmp_path)


def test_netcdf(tmp_path, scene):
    path = tmp_path / "m.nc"
    scene.truth.rename("tsmask").to_dataset().to_netcdf(path)
    da = load_mask(path)
    np.testing.assert_array_equal(da.values, scene.truth.values)
    np.testing.assert_array_equal(da.time.values, scene.ds.time.values)


def test_raster_nodata_outside_the_classes_becomes_no_observation(tmp_path, scene):
    arr = scene.truth.values.copy()
    arr[:, 0, 0] = 255
    path = tmp_path / "m.tif"
    write_multiband(path, arr, scene, nodata=255)
    assert (load_mask(path).values[:, 0, 0] == 0).all()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_mask(tmp_path / "nothing.tif")


def test_match_grid_resamples_a_coarser_reference(scene):
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    mask = scene.truth
    t = mask.odc.geobox.transform
    g40 = GeoBox((15, 20), Affine(40, 0, t.c, 0, -40, t.f), CRS)  # 40 m, same corner
    coarse = xr.DataArray(
        mask.values[:, ::2, ::2], dims=mask.dims, coords={"time": mask.time}
    ).assign_coords(xr_coords(g40, crs_coord_name="spatial_ref"))
    fine = match_grid(coarse, mask)
    assert fine.shape == mask.shape
    for dy in (0, 1):
        for dx in (0, 1):
            np.testing.assert_array_equal(fine.values[:, dy::2, dx::2], coarse.values)


def _cli(argv):
    from tsmask_qgis.cli import main

    return main(["evaluate", *argv])


def test_register_adds_the_subcommand():
    parser = argparse.ArgumentParser(prog="tsmask")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["evaluate", "--mask", "m.tif", "--reference", "r", "--reference-kind", "fmask"]
    )
    assert args.reference_kind == "fmask" and callable(args.func)


def test_cli_writes_the_report(tmp_path, scene, capsys):
    mask = scene.truth.values.copy()
    mask[mask == 3] = 1  # a mask that misses every shadow
    write_multiband(tmp_path / "mask.tif", mask, scene)
    for label, t in zip(_labels(scene), scene.truth.values, strict=True):
        write_single(tmp_path / "scl" / f"SCL_{label}.tif", to_scl(t), scene)
    argv = [
        "--mask",
        str(tmp_path / "mask.tif"),
        "--reference",
        str(tmp_path / "scl"),
        "--reference-kind",
        "scl",
        "--out",
        str(tmp_path / "rep"),
    ]
    rc = _cli(argv)
    out = capsys.readouterr().out
    assert rc == 0
    assert "Overall accuracy" in out and "wrote" in out
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert files == [
        "evaluation.html",
        "evaluation.json",
        "evaluation.md",
        "evaluation_confusion.png",
    ]
    d = json.loads((tmp_path / "rep" / "evaluation.json").read_text())
    n_shadow = int((scene.truth.values == 3).sum())
    assert d["confusion"][0][2] == n_shadow
    assert d["producers_accuracy"]["cloud_shadow"] == 0.0
    assert d["reference_kind"] == "scl" and d["dates"] == 5
    # A second run does not replace the report unless asked to.
    assert _cli(argv) == 6
    assert "--overwrite" in capsys.readouterr().err
    assert _cli([*argv, "--overwrite"]) == 0


def test_cli_reports_bad_input(tmp_path, scene, capsys):
    write_multiband(tmp_path / "mask.tif", scene.truth.values, scene)
    rc = _cli(["--mask", str(tmp_path / "mask.tif"), "--reference", str(tmp_path / "none.tif")])
    assert rc == 3  # bad input
    assert "tsmask: error:" in capsys.readouterr().err
    # An SCL file read as a four-class mask: the wrong kind is named.
    write_multiband(tmp_path / "scl.tif", to_scl(scene.truth.values), scene)
    rc = _cli(["--mask", str(tmp_path / "mask.tif"), "--reference", str(tmp_path / "scl.tif")])
    assert rc == 3
    assert "not tsmask classes" in capsys.readouterr().err


def test_cli_help_lists_the_kinds(capsys):
    with pytest.raises(SystemExit):
        _cli(["--help"])  # argparse exits after printing the help
    out = capsys.readouterr().out
    assert "--reference-kind" in out and "oa_fmask" in out
