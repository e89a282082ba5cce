"""Every runner gives the same classes: threads, processes, streaming, dask (and distributed)."""

from __future__ import annotations

import itertools
import math
import os
import threading
import tracemalloc

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from tests.engine.cubes import BANDS, make_ds, stack_bands
from tsmask_qgis.engine import _core, classify, detect
from tsmask_qgis.engine._stream import plan
from tsmask_qgis.engine._validate import validate_dataset
from tsmask_qgis.engine.reference import reference_classify
from tsmask_qgis.progress import Cancelled, CancelToken

pytestmark = pytest.mark.filterwarnings("ignore:the input's dask chunks:RuntimeWarning")


def _expected(ds: xr.Dataset, preset: str, spatial: bool = True) -> np.ndarray:
    bands = stack_bands(ds)
    nodata = ds["blue"].attrs.get("nodata") if bands.dtype.kind in "iu" else None
    return _core.classify_array(bands, preset=preset, spatial=spatial, nodata=nodata, workers=1)


def _shm_leftovers() -> list[str]:
    """This process's segments, except the one spare input buffer kept on purpose."""
    from tsmask_qgis.engine import _procpool

    prefix = f"tsmask_{os.getpid()}_"
    spare = _procpool._spare.ref.name if _procpool._spare is not None else None
    try:
        return [n for n in os.listdir("/dev/shm") if n.startswith(prefix) and n != spare]
    except FileNotFoundError:  # pragma: no cover - not Linux
        return []


@pytest.fixture(scope="module")
def cube_int16() -> xr.Dataset:
    return make_ds((14, 37, 29), seed=3, kind="int16")


@pytest.mark.parametrize("preset", ["seed", "dea"])
def test_tiny_cube_matches_the_oracle(preset: str) -> None:
    ds = make_ds((9, 8, 7), seed=11, kind="int16")
    want = reference_classify(stack_bands(ds), preset, nodata=-999)
    for runner in ("threads", "processes", "dask"):
        got = classify(ds, preset=preset, runner=runner, workers=2)
        np.testing.assert_array_equal(got.values, want, err_msg=runner)


@pytest.mark.parametrize("preset", ["seed", "dea"])
@pytest.mark.parametrize(
    ("runner", "workers", "chunks", "max_memory"),
    [
        ("threads", 1, None, None),
        ("threads", 2, None, None),
        ("threads", 3, None, None),
        ("processes", 1, None, None),
        ("processes", 2, None, None),
        # in-memory input larger than the budget: the process runner copies tile by tile
        ("processes", 2, None, 40_000),
        # dask-backed input streamed through a memory-mapped class cube
        ("threads", 2, {"time": 1, "y": 10, "x": 8}, 40_000),
        ("threads", 2, {"time": 3, "y": 37, "x": 29}, 60_000),
        ("processes", 2, {"time": 1, "y": 10, "x": 8}, 40_000),
        ("dask", 2, {"time": 1, "y": 10, "x": 8}, None),
        ("dask", 2, None, None),
    ],
)
def test_runners_agree(cube_int16, preset, runner, workers, chunks, max_memory) -> None:
    ds = cube_int16.chunk(chunks) if chunks else cube_int16
    got = classify(ds, preset=preset, runner=runner, workers=workers, max_memory=max_memory)
    np.testing.assert_array_equal(got.values, _expected(cube_int16, preset))
    assert got.dtype == np.uint8


def test_streaming_really_streams(cube_int16) -> None:
    ds = cube_int16.chunk({"time": 2, "y": 9, "x": 29})
    _, stack = validate_dataset(ds)
    p = plan(stack, budget=40_000, buffered=True, workers=2)
    assert p.streaming and len(p.tiles) > 3
    messages: list[str] = []
    got = classify(
        ds,
        preset="seed",
        runner="threads",
        max_memory=40_000,
        progress=lambda r: messages.append(r.message),
    )
    assert isinstance(got.data, np.memmap)
    assert any(f"of {len(p.tiles)}" in m for m in messages)
    np.testing.assert_array_equal(got.values, _expected(cube_int16, "seed"))


def test_oversized_chunks_are_reported(cube_int16) -> None:
    ds = cube_int16.chunk({"y": 37, "x": 29})
    with pytest.warns(RuntimeWarning, match="smaller spatial chunks"):
        got = classify(ds, preset="seed", runner="threads", max_memory=40_000)
    np.testing.assert_array_equal(got.values, _expected(cube_int16, "seed"))


def test_streaming_never_holds_the_input() -> None:
    """Peak traced memory stays far below the input size (input generated lazily per chunk)."""
    t, ny, nx = 20, 240, 200
    ref = make_ds((t, 24, 20), seed=5, kind="int16")

    def band(i: int) -> da.Array:
        small = ref[BANDS[i]].values

        def gen(block_info=None):
            (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
            ys = np.arange(y0, y1) % small.shape[1]
            xs = np.arange(x0, x1) % small.shape[2]
            return small[t0:t1][:, ys][:, :, xs]

        return da.map_blocks(gen, dtype=np.int16, chunks=((t,), (40,) * 6, (50,) * 4))

    ds = xr.Dataset(
        {b: (("time", "y", "x"), band(i), {"nodata": -999}) for i, b in enumerate(BANDS)},
        coords={"time": ref.time.values},
    )
    input_bytes = 6 * t * ny * nx * 2
    tracemalloc.start()
    try:
        got = classify(ds, runner="threads", workers=2, max_memory=input_bytes // 8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < input_bytes / 3, (peak, input_bytes)
    tiled = np.tile(_expected(ref, "seed", spatial=False), (1, 10, 10))
    det = detect(ds, "seed", runner="threads", workers=2, max_memory=input_bytes // 8)
    np.testing.assert_array_equal(det.values, tiled)
    assert got.shape == (t, ny, nx)


def test_out_targets(cube_int16, tmp_path) -> None:
    want = _expected(cube_int16, "dea")
    out = np.zeros(want.shape, np.uint8)
    got = classify(cube_int16, preset="dea", runner="threads", out=out)
    assert got.data is out
    np.testing.assert_array_equal(out, want)
    mm = np.memmap(tmp_path / "cube.u8", np.uint8, "w+", shape=want.shape)
    classify(cube_int16, preset="dea", runner="processes", workers=2, out=mm)
    np.testing.assert_array_equal(
        np.fromfile(tmp_path / "cube.u8", np.uint8).reshape(want.shape), want
    )
    out2 = np.zeros(want.shape, np.uint8)
    classify(cube_int16.chunk({"y": 20}), preset="dea", runner="dask", out=out2)
    np.testing.assert_array_equal(out2, want)
    with pytest.raises(ValueError, match="shape"):
        classify(cube_int16, runner="threads", out=np.zeros((1, 2, 3), np.uint8))


def test_float_input_and_mixed_nodata() -> None:
    ds = make_ds((10, 16, 12), seed=8, kind="int16")
    # Different declared nodata per band: only each band's own value is nodata.
    ds2 = ds.copy()
    ds2["red"] = ds["red"].where(ds["red"] != -999, 0).astype(np.int16)
    ds2["red"].attrs["nodata"] = 0
    bands = stack_bands(ds2).astype(np.float32) / np.float32(10000)
    for i, b in enumerate(BANDS):
        bands[i][stack_bands(ds2)[i] == ds2[b].attrs["nodata"]] = np.nan
    want = _core.classify_array(bands, workers=1)
    for runner in ("threads", "processes", "dask"):
        np.testing.assert_array_equal(classify(ds2, runner=runner, workers=2).values, want)
    # float reflectance input
    dsf = make_ds((10, 16, 12), seed=8, kind="float32")
    np.testing.assert_array_equal(
        classify(dsf, preset="seed", runner="processes", workers=2).values, _expected(dsf, "seed")
    )


def test_result_is_a_labelled_dataarray(cube_int16) -> None:
    got = classify(cube_int16, preset="dea", runner="threads", cloud_spike=0.5)
    assert got.name == "tsmask" and got.dims == ("time", "y", "x")
    assert got.attrs["flag_values"] == [0, 1, 2, 3]
    assert got.attrs["flag_meanings"] == "no_observation clear cloud cloud_shadow"
    assert got.attrs["preset"] == "dea" and '"cloud_spike": 0.5' in got.attrs["thresholds"]
    assert got.attrs["grid_mapping"] == "spatial_ref"
    for c in ("time", "y", "x", "spatial_ref"):
        np.testing.assert_array_equal(got[c].values, cube_int16[c].values)
    assert got.spatial_ref.attrs == cube_int16.spatial_ref.attrs
    np.testing.assert_array_equal(
        got.values,
        _core.classify_array(stack_bands(cube_int16), preset="dea", nodata=-999, cloud_spike=0.5),
    )


def test_odc_geobox_is_carried_over() -> None:
    odc_geo = pytest.importorskip("odc.geo.xr")
    from odc.geo.geobox import GeoBox

    gbox = GeoBox.from_bbox((690_000, 6_099_600, 690_400, 6_100_000), "EPSG:32755", resolution=20)
    ds0 = make_ds((8, *gbox.shape), seed=1, kind="int16")
    coords = odc_geo.xr_coords(gbox)
    ds = ds0.drop_vars(["y", "x", "spatial_ref"]).assign_coords(coords)
    got = classify(ds, runner="threads")
    assert got.odc.geobox == gbox


def test_progress_reaches_one_and_cancel_stops(cube_int16) -> None:
    seen: list[float] = []
    classify(cube_int16, runner="processes", workers=2, progress=lambda r: seen.append(r.overall))
    assert seen[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in itertools.pairwise(seen))

    def cancel_at_half(r):
        if r.overall and r.overall > 0.3:
            raise Cancelled("stop")

    for runner in ("threads", "processes"):
        with pytest.raises(Cancelled):
            classify(cube_int16, runner=runner, workers=2, progress=cancel_at_half)
    assert _shm_leftovers() == []
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        classify(cube_int16, runner="processes", cancel=token)
    assert _shm_leftovers() == []


def test_cancel_streaming_removes_the_temp_cube(cube_int16, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TSMASK_TMPDIR", str(tmp_path))
    calls = []

    def cancel_later(r):
        calls.append(r.message)
        if len(calls) > 6:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        classify(
            cube_int16.chunk({"y": 10}),
            runner="processes",
            workers=2,
            max_memory=40_000,
            progress=cancel_later,
        )
    assert list(tmp_path.iterdir()) == []
    assert _shm_leftovers() == []


def test_dask_distributed_client(cube_int16) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ds = cube_int16.chunk({"y": 16, "x": 16})
        fractions: list[float] = []
        got = classify(
            ds, preset="seed", client=client, progress=lambda r: fractions.append(r.overall)
        )
        np.testing.assert_array_equal(got.values, _expected(cube_int16, "seed"))
        assert fractions and fractions[-1] == pytest.approx(1.0)
        lazy = classify(ds, preset="dea", client=client, lazy=True)
        assert isinstance(lazy.data, da.Array)
        np.testing.assert_array_equal(lazy.compute().values, _expected(cube_int16, "dea"))


def test_threads_cancel_token_from_another_thread(cube_int16) -> None:
    token = CancelToken()
    timer = threading.Timer(0.0, token.cancel)
    timer.start()
    timer.join()
    with pytest.raises(Cancelled):
        classify(cube_int16, runner="threads", cancel=token)


@pytest.mark.parametrize(
    ("shape", "chunk", "max_pixels"),
    [
        ((1085, 1085), 256, 166_000),  # two chunks a tile: square-ish blocks of chunks
        ((1085, 1085), 256, 600_000),  # a whole row of chunks fits
        ((700, 300), 128, 70_000),
        ((513, 1025), 512, 262_144),  # exactly one chunk
    ],
)
def test_super_tiles_never_split_a_chunk_that_fits(shape, chunk, max_pixels) -> None:
    from tsmask_qgis.engine._tiling import super_tiles

    ny, nx = shape
    cy = tuple(min(chunk, ny - i) for i in range(0, ny, chunk))
    cx = tuple(min(chunk, nx - i) for i in range(0, nx, chunk))
    tiles = super_tiles(shape, max_pixels=max_pixels, chunks_yx=(cy, cx))
    covered = np.zeros(shape, np.int32)
    for t in tiles:
        covered[t.ys, t.xs] += 1
        assert t.size <= max_pixels
        assert t.y0 % chunk == 0 and t.x0 % chunk == 0
        assert t.y1 % chunk == 0 or t.y1 == ny
        assert t.x1 % chunk == 0 or t.x1 == nx
    assert (covered == 1).all()
    # Whole rows of chunks when a row fits, else blocks near square (in chunks).
    widths = {t.x1 - t.x0 for t in tiles}
    if max_pixels >= chunk * chunk * len(cx):
        assert widths == {nx}
    assert len(tiles) <= 2 * math.ceil(ny * nx / max_pixels) + len(cy) + len(cx)


def test_chunks_larger_than_the_budget_are_cut_in_square_pieces() -> None:
    """Each tile lies within one chunk, so a chunk is read about size/budget times, not more."""
    from tsmask_qgis.engine._tiling import super_tiles

    ny, nx, chunk, max_pixels = 1000, 3000, 512, 40_000
    cy = tuple(min(chunk, ny - i) for i in range(0, ny, chunk))
    cx = tuple(min(chunk, nx - i) for i in range(0, nx, chunk))
    tiles = super_tiles((ny, nx), max_pixels=max_pixels, chunks_yx=(cy, cx))
    covered = np.zeros((ny, nx), np.int32)
    reads: dict[tuple[int, int], int] = {}
    for t in tiles:
        covered[t.ys, t.xs] += 1
        assert t.size <= max_pixels
        assert t.y0 // chunk == (t.y1 - 1) // chunk and t.x0 // chunk == (t.x1 - 1) // chunk
        assert max(t.y1 - t.y0, t.x1 - t.x0) <= 2 * min(t.y1 - t.y0, t.x1 - t.x0)
        key = (t.y0 // chunk, t.x0 // chunk)
        reads[key] = reads.get(key, 0) + 1
    assert (covered == 1).all()
    assert max(reads.values()) <= math.ceil(chunk / 200) ** 2  # 3 x 3 pieces of a full chunk


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_a_rechunked_lazy_source_is_computed_once(cube_int16, runner) -> None:
    """Chunks cut from one source chunk must not make the runner compute that source per piece."""
    import dask

    calls = {band: 0 for band in BANDS}

    def source(band: str) -> np.ndarray:
        calls[band] += 1
        return cube_int16[band].values

    lazy = cube_int16.copy()
    for band in BANDS:
        arr = da.from_delayed(
            dask.delayed(source)(band), cube_int16[band].shape, cube_int16[band].dtype
        )
        lazy[band] = (("time", "y", "x"), arr.rechunk({1: 8}), cube_int16[band].attrs)
    got = classify(lazy, runner=runner, workers=2).values
    assert (got == classify(cube_int16, runner="threads", workers=1).values).all()
    assert calls == {band: 1 for band in BANDS}
