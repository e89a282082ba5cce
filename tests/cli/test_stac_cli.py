"""``tsmask`` against a real STAC API on 127.0.0.1: estimate, run, cache, faults, cancel.

Nothing here patches the loaders: the commands search rustac's STAC API and read the
COGs over HTTP from the front server, which counts the requests and injects faults.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr

from tests.catalogue import AREA, CANBERRA
from tests.cli import synthetic_catalogue as syn
from tsmask_qgis import engine, loaders
from tsmask_qgis.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _area(url: str, collection: str = "sentinel-2-c1-l2a") -> list[str]:
    """Request options for the two-zone test area (3 dates from 6 scenes)."""
    return [
        "--bbox",
        *map(str, AREA),
        "--start",
        "2021-12-01",
        "--end",
        "2022-03-31",
        "--source",
        "custom",
        "--stac-url",
        url,
        "--collection",
        collection,
    ]


def _synthetic(url: str) -> list[str]:
    return [
        "--bbox",
        *map(str, syn.BBOX),
        "--start",
        syn.START.isoformat(),
        "--end",
        syn.END.isoformat(),
        "--source",
        "custom",
        "--stac-url",
        url,
        "--collection",
        syn.COLLECTION,
    ]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _mask(folder: Path) -> np.ndarray:
    with xr.open_dataset(folder / "tsmask.nc", mask_and_scale=False) as ds:
        return ds["tsmask"].values


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err  # one line, no traceback, no library log noise
    assert lines[0].startswith("tsmask: error: ")
    return lines[0]


# -- estimate and cache ---------------------------------------------------------------------


def test_estimate_then_cache_list_and_clear(served, cache_dir, capsys, fast_network, tmp_path):
    area = _area(served.url)
    assert main(["estimate", *area]) == 0
    out = capsys.readouterr().out
    assert f"custom: {served.url} (sentinel-2-c1-l2a)" in out
    assert "6 scenes on 3 dates (2021-12-05 .. 2022-03-01)" in out
    assert "grid 141 x 116 pixels at 20 m in EPSG:32756" in out
    assert "already in the local cache" not in out

    assert main(["cache", "list"]) == 0
    assert f"0 cached load(s), 0.0 MB of 21,474.8 MB in {cache_dir}" in capsys.readouterr().out

    assert main(["run", *area, "--format", "summary", "--quiet", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    (entry,) = loaders.list_cache()
    assert main(["cache", "list"]) == 0
    listing = capsys.readouterr().out
    assert entry.describe() in listing
    assert "custom  2021-12-01..2022-03-31" in listing and "3 dates 116x141" in listing
    assert f"1 cached load(s), {entry.size_bytes / 1e6:,.1f} MB" in listing

    assert main(["estimate", *area]) == 0
    assert "already in the local cache: nothing to download" in capsys.readouterr().out

    assert main(["cache", "clear", "no-such-key"]) == 3
    assert "no cache entry starts with 'no-such-key'" in _one_line_error(capsys.readouterr().err)
    assert main(["cache", "clear", entry.key[:8]]) == 0
    assert f"removed cache entry {entry.key}: {entry.size_bytes / 1e6:,.1f} MB freed" in (
        capsys.readouterr().out
    )
    assert loaders.list_cache() == [] and not any(cache_dir.iterdir())
    assert main(["cache", "clear"]) == 0
    assert "removed 0 cached load(s): 0.0 MB freed" in capsys.readouterr().out


def test_estimate_empty_search_exits_4(served, capsys, fast_network):
    args = _area(served.url)
    args[args.index("--start") + 1], args[args.index("--end") + 1] = "2016-01-01", "2016-02-01"
    assert main(["estimate", *args]) == 4
    assert "no Sentinel-2 acquisitions" in _one_line_error(capsys.readouterr().err)


# -- the notebook's Canberra request ---------------------------------------------------------

CANBERRA_ARGS = ["--bbox", *map(str, CANBERRA), "--start", "2017-01-01", "--end", "2018-12-31"]


def test_canberra_notebook_request(served, capsys, tmp_path, fast_network):
    """docs/cli.md's Canberra example, verbatim but for --stac-url (the test catalogue has
    two of its scenes in those dates, covering a strip of the area)."""
    assert CANBERRA == (149.055, -35.344, 149.155, -35.244)
    assert main(["estimate", *CANBERRA_ARGS, "--stac-url", served.url]) == 0
    out = capsys.readouterr().out
    assert "earth-search-c1: " in out
    assert "2 scenes on 2 dates (2017-03-01 .. 2018-06-15)" in out
    assert "grid 467 x 566 pixels at 20 m in EPSG:32755" in out
    served.server.clear_log()
    dest = tmp_path / "canberra"
    args = ["run", *CANBERRA_ARGS, "--stac-url", served.url, "--out", str(dest), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2017-03-01" in printed and "2018-06-15" in printed
    searches = served.server.requests("/search")
    assert searches and all(m in ("GET", "POST") for m, _ in searches)
    rows = json.loads((dest / "summary.json").read_text())["dates"]
    assert [r["date"] for r in rows] == ["2017-03-01", "2018-06-15"]
    with rasterio.open(dest / "cog" / "tsmask_2017-03-01.tif") as ds:
        assert (ds.width, ds.height, ds.crs.to_epsg(), ds.res) == (467, 566, 32755, (20.0, 20.0))
        m = ds.read(1)
    # the scenes cover lat -35.32..-35.28 of the area: observed there, nodata elsewhere
    assert set(np.unique(m)) == {0, 1}
    observed_rows = np.flatnonzero((m != 0).any(axis=1))
    assert 150 < observed_rows.size < 300


# -- a whole run on the synthetic cloudy collection -----------------------------------------


def _engine_mask(data: xr.Dataset, preset: str) -> np.ndarray:
    return engine.classify(data, preset=preset, runner="threads").values


def test_run_all_formats_truecolour_reference_then_cache_hit(served, tmp_path, capsys):
    s = served.synthetic
    first = tmp_path / "seed"
    args = [*_synthetic(served.url), "--format", "all", "--truecolour", "--quiet"]
    assert main(["run", *args, "--with-reference", "scl", "--out", str(first)]) == 0
    printed = capsys.readouterr().out
    assert f"evaluation against SCL: {first / 'evaluation.md'}" in printed
    files = _files(first)
    days = [np.datetime_as_string(t, unit="D") for t in s.times]
    for d in days:
        for name in (
            f"cog/tsmask_{d}.tif",
            f"cog/tsmask_{d}.qml",
            f"truecolour/truecolour_{d}.tif",
        ):
            assert name in files, name
    for name in (
        "tsmask.nc",
        "tsmask.qml",
        "tsmask_multiband.tif",
        "tsmask_multiband.qml",
        "tsmask_envi.img",
        "tsmask_envi.hdr",
        "summary.csv",
        "summary.json",
        "clear_count.tif",
        "chart.png",
        "evaluation.md",
        "evaluation.json",
        "evaluation.html",
        "evaluation_confusion.png",
    ):
        assert name in files, name
    assert any(f.startswith("quicklooks/quicklook_") for f in files)
    assert not [f for f in files if "tmp" in f]

    # The masks are the engine's on the served scene, in every format.
    want = _engine_mask(s.reflectance, "seed")
    assert {1, 2, 3} <= set(np.unique(want))  # clouds and shadows to find
    got = _mask(first)
    np.testing.assert_array_equal(got, want)
    with rasterio.open(first / "tsmask_multiband.tif") as ds:
        np.testing.assert_array_equal(ds.read(), want)
        assert [ds.descriptions[i] for i in (0, -1)] == [days[0], days[-1]]
    with rasterio.open(first / "cog" / f"tsmask_{days[3]}.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), want[3])
    with rasterio.open(first / f"truecolour/truecolour_{days[3]}.tif") as ds:
        assert ds.count == 4 and ds.shape == want.shape[1:]  # RGB + alpha

    # SCL was loaded beside the bands, on the same grid and dates: the report's
    # confusion matrix is the mask against the truth's SCL, pixel for pixel.
    report = json.loads((first / "evaluation.json").read_text())
    both = (want != 0) & (s.truth != 0)
    expected = [
        [int(np.sum(both & (want == m) & (s.truth == r))) for r in (1, 2, 3)] for m in (1, 2, 3)
    ]
    assert report["confusion"] == expected
    assert report["dates"] == len(days) and report["pixels"] == int(both.sum())

    # Another preset on the same request: everything from the cache, no network at all.
    served.server.clear_log()
    second = tmp_path / "dea"
    again = [*_synthetic(served.url), "--with-reference", "scl", "--preset", "dea"]
    assert main(["run", *again, "--out", str(second)]) == 0
    assert served.server.requests() == []
    assert "read from the local cache (nothing downloaded)" in capsys.readouterr().out
    np.testing.assert_array_equal(_mask(second), _engine_mask(s.reflectance, "dea"))
