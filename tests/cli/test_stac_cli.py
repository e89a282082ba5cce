"""``tsmask`` against a real STAC API on 127.0.0.1: estimate, run, cache, faults, cancel.

Nothing here patches the loaders: the commands search rustac's STAC API and read the
COGs over HTTP from the front server, which counts the requests and injects faults.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from tests.catalogue import AREA, CANBERRA
from tests.cli import synthetic_catalogue as syn
from tsmask_qgis import engine, loaders
from tsmask_qgis.cli import main
from tsmask_qgis.tempfiles import TMP_PREFIX

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
    args = [
        *_synthetic(served.url),
        "--preset",
        "seed",
        "--format",
        "all",
        "--truecolour",
        "--quiet",
    ]
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


# -- bounded memory: a lazy load streamed through the engine ---------------------------------


def test_max_memory_streams_lazily_with_identical_results(served, tmp_path, monkeypatch, cache_dir):
    from tsmask_qgis.engine import _stream

    s = served.synthetic
    base = [*_synthetic(served.url), "--preset", "seed", "--format", "netcdf", "--quiet"]
    assert main(["run", *base, "--no-cache", "--out", str(tmp_path / "memory")]) == 0
    in_memory = _mask(tmp_path / "memory")
    np.testing.assert_array_equal(in_memory, _engine_mask(s.reflectance, "seed"))

    loads: list[dict] = []
    plans: list = []
    real_load, real_plan = loaders.load, _stream.plan

    def spy_load(request, **kw):
        loads.append(kw)
        return real_load(request, **kw)

    def spy_plan(*a, **kw):
        plans.append(real_plan(*a, **kw))
        return plans[-1]

    monkeypatch.setattr(loaders, "load", spy_load)
    monkeypatch.setattr(_stream, "plan", spy_plan)
    job_bytes = s.dn.sizes["time"] * s.dn.sizes["y"] * s.dn.sizes["x"] * 25
    budget = "400KB"
    assert job_bytes > 400_000
    for runner in ("threads", "auto"):
        out = tmp_path / runner
        args = ["run", *base, "--max-memory", budget, "--runner", runner, "--out", str(out)]
        assert main(args) == 0
        kw = loads[-1]
        assert kw["cache"] is False  # the lazy odc-stac graph, not a download into the cache
        assert kw["chunks"]["x"] == s.dn.sizes["x"] and kw["chunks"]["y"] < s.dn.sizes["y"]
        np.testing.assert_array_equal(_mask(out), in_memory)
    # threads: the engine streamed tile by tile (several super tiles, class cube on disk)
    assert len(plans) == 1 and plans[0].streaming and len(plans[0].tiles) > 1
    assert loaders.list_cache() == []  # a job over the budget is not cached

    # a cache hit larger than the budget is streamed from the cache, same result
    assert main(["run", *base, "--out", str(tmp_path / "cached")]) == 0
    served.server.clear_log()
    out = tmp_path / "cached-streamed"
    args = ["run", *base, "--max-memory", budget, "--runner", "threads", "--out", str(out)]
    assert main(args) == 0
    assert served.server.requests() == []
    assert plans[-1].streaming and len(plans[-1].tiles) > 1
    np.testing.assert_array_equal(_mask(out), in_memory)


# -- faults through the command --------------------------------------------------------------


def test_server_500_exits_5_with_one_line(served, tmp_path, capsys, fast_network):
    area = _area(served.url)
    with served.server.fault("/search", status=500):
        assert main(["run", *area, "--out", str(tmp_path / "a")]) == 5
    line = _one_line_error(capsys.readouterr().err)
    assert f"searching the STAC catalogue {served.url} failed" in line and "HTTP 500" in line
    with served.server.fault("/files/*", status=500):
        assert main(["run", *area, "--out", str(tmp_path / "b")]) == 5
        line = _one_line_error(capsys.readouterr().err)
        assert "could not read band" in line and "of scene S2" in line and "500" in line
        # the same through the lazy, streamed path
        args = ["run", *area, "--max-memory", "200KB", "--out", str(tmp_path / "c")]
        assert main(args) == 5
        _one_line_error(capsys.readouterr().err)
    for name in "abc":
        assert _files(tmp_path / name) == []
    assert loaders.list_cache() == []


def test_empty_search_exits_4(served, tmp_path, capsys, fast_network):
    args = _area(served.url)
    args[args.index("--start") + 1], args[args.index("--end") + 1] = "2016-01-01", "2016-02-01"
    assert main(["run", *args, "--out", str(tmp_path / "o")]) == 4
    assert "no Sentinel-2 acquisitions in custom" in _one_line_error(capsys.readouterr().err)
    assert _files(tmp_path / "o") == []


def test_damaged_cog_exits_3_naming_the_band(served, tmp_path, capsys, fast_network, cache_dir):
    args = _area(served.url, collection="broken")
    args[args.index("--start") + 1] = "2022-03-31"
    args[args.index("--end") + 1] = "2022-04-30"
    assert main(["run", *args, "--out", str(tmp_path / "o")]) == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "could not read band red" in line and "S2A_56HKV_20220401_0_L2A" in line
    assert _files(tmp_path / "o") == [] and loaders.list_cache() == []
    assert not list(cache_dir.glob(f"{TMP_PREFIX}*"))


def test_unwritable_output_exits_6_before_any_download(served, tmp_path, capsys, cache_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    served.server.clear_log()
    for out in (blocker, blocker / "sub", Path("/proc/tsmask-out")):
        assert main(["run", *_area(served.url), "--out", str(out)]) == 6
        _one_line_error(capsys.readouterr().err)
    assert served.server.requests() == []  # refused before searching or reading
    assert blocker.read_text() == "x" and not cache_dir.exists()


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_during_load_leaves_nothing(served, tmp_path, cache_dir, fast_network):
    from tsmask_qgis.pipeline import Job, run
    from tsmask_qgis.progress import Cancelled

    request = loaders.Request(
        AREA,
        "2021-12-01",
        "2022-03-31",
        source="custom",
        stac_url=served.url,
        collections=("sentinel-2-c1-l2a",),
    )
    seen: list[str] = []

    def progress(report):
        seen.append(f"{report.step}: {report.message}")
        if report.step == "load" and report.message.startswith("read") and len(seen) > 3:
            raise Cancelled("cancelled by the test")

    out = tmp_path / "o"
    with pytest.raises(Cancelled):
        run(Job(out=out, request=request, formats=("netcdf", "cog")), progress=progress)
    assert any(m.startswith("load: read") for m in seen)
    assert _files(out) == []
    assert loaders.list_cache() == [] and not list(cache_dir.glob(f"{TMP_PREFIX}*"))


def test_ctrl_c_exits_130_with_no_partial_files(served, tmp_path, cache_dir):
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TSMASK_CACHE_DIR": str(cache_dir)}
    served.server.clear_log()
    with served.server.fault("/files/*", delay=0.5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsmask_qgis.cli", "run", *_area(served.url), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while not served.server.requests("/files/*") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "tsmask: cancelled; no partial output left"
    assert "Traceback" not in stderr
    assert _files(out) == []
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_scheduler_runs_on_a_dask_cluster(served, tmp_path, capsys, monkeypatch):
    """--scheduler ADDRESS: the cached synthetic request classified on a dask.distributed
    cluster gives the engine's masks; an unreachable scheduler exits 5."""
    distributed = pytest.importorskip("distributed")
    s = served.synthetic
    base = [*_synthetic(served.url), "--preset", "seed", "--format", "netcdf", "--quiet"]
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        out = tmp_path / "cluster"
        assert (
            main(["run", *base, "--scheduler", cluster.scheduler_address, "--out", str(out)]) == 0
        )
    np.testing.assert_array_equal(_mask(out), _engine_mask(s.reflectance, "seed"))
    capsys.readouterr()
    from tests.stac_server import free_port
    from tsmask_qgis.pipeline import _detect

    monkeypatch.setattr(_detect, "SCHEDULER_TIMEOUT", "2s")
    nobody = f"tcp://127.0.0.1:{free_port()}"
    args = ["run", *base, "--scheduler", nobody, "--out", str(tmp_path / "none")]
    assert main(args) == 5
    assert f"cannot reach the dask scheduler at {nobody}" in _one_line_error(
        capsys.readouterr().err
    )


def test_concurrency_flag_same_masks_and_checked(served, tmp_path, capsys, monkeypatch):
    base = [*_synthetic(served.url), "--format", "netcdf", "--quiet"]
    assert main(["run", *base, "--no-cache", "--out", str(tmp_path / "default")]) == 0
    seen: list[int] = []
    real_load = loaders.load

    def spy_load(request, **kw):
        seen.append(kw["network"].concurrency)
        return real_load(request, **kw)

    monkeypatch.setattr(loaders, "load", spy_load)
    args = ["run", *base, "--no-cache", "--concurrency", "2", "--out", str(tmp_path / "two")]
    assert main(args) == 0
    assert seen == [2]
    np.testing.assert_array_equal(_mask(tmp_path / "two"), _mask(tmp_path / "default"))
    for bad in ("0", "1000"):
        args = ["run", *base, "--concurrency", bad, "--out", str(tmp_path / "bad")]
        assert main(args) == 2
        line = _one_line_error(capsys.readouterr().err)
        assert "reads at once" in line and "--concurrency" in line, line
        assert _files(tmp_path / "bad") == []
