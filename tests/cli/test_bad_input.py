"""The bad-input table (issue 14): one row per hostile but realistic input or fault.

Each row prepares its inputs (cut from the bundled sample) and often an earlier run in
the output folder, runs ``tsmask`` in-process and asserts the exit code, key words of
what it printed (and words it must not print), the files left in the output folder,
and, where the run refuses, that the earlier masks are byte for byte unchanged.

``left`` says what the output folder holds afterwards:

- ``"none"``: no file at all (the folder may exist, empty);
- ``"unchanged"``: exactly the earlier run's files, with the same content;
- ``"job"``: one complete job: every file its manifest lists, the manifest, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.cli.bad_input_stacks import T, masks, nc_stack, snapshot, tif_folder
from tsmask_qgis.cli import main
from tsmask_qgis.tempfiles import TMP_PREFIX
from tsmask_qgis.writers import LOCK_NAME, MANIFEST_NAME, folder_lock


class Ctx:
    """What a row's setup and check get: folders, the earlier run, and pytest's tools."""

    def __init__(
        self, tmp: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
    ) -> None:
        self.request = request
        self.tmp = tmp
        self.out = tmp / "out"
        self.monkeypatch = monkeypatch
        self.before: dict[str, str] | None = None
        self.extra: dict[str, object] = {}

    def nc(self, change=None, **kw) -> Path:
        return nc_stack(self.tmp / f"stack{len(list(self.tmp.glob('stack*')))}.nc", change, **kw)

    def earlier(self, *args: str, stack: Path | None = None) -> Path:
        """A good run into ``out`` first; remembers the folder's content."""
        stack = stack or self.nc()
        assert main(["run", "--input", str(stack), "--out", str(self.out), "-q", *args]) == 0
        self.before = snapshot(self.out)
        return stack


@dataclass(frozen=True)
class Row:
    id: str
    setup: Callable[[Ctx], list[str]]
    code: int
    words: tuple[str, ...] = ()
    left: str = "none"
    check: Callable[[Ctx, str], None] | None = None
    absent: tuple[str, ...] = ("traceback", "overwrite=true", "networkoptions(")


def _run(ctx: Ctx, stack: Path, *args: str) -> list[str]:
    return ["run", "--input", str(stack), "--out", str(ctx.out), "-q", *args]


# -- inputs ---------------------------------------------------------------------------------


def _scaled_float(ds: xr.Dataset) -> xr.Dataset:
    for b in ds.data_vars:
        ds[b] = ds[b].astype("float32")
        ds[b].attrs.pop("nodata", None)
    return ds


def _no_nodata_zero_fill(ds: xr.Dataset) -> xr.Dataset:
    for b in ds.data_vars:
        ds[b].attrs.pop("nodata", None)
        ds[b][:, :4, :4] = 0
    return ds


def _zero_fill_declared(ds: xr.Dataset) -> xr.Dataset:
    for b in ds.data_vars:
        ds[b].attrs["nodata"] = 0
        ds[b][:, :4, :4] = 0
    return ds


def _constant(ds: xr.Dataset) -> xr.Dataset:
    for b in ds.data_vars:
        ds[b].attrs.pop("nodata", None)
    ds["red"] = ds["red"].astype("uint16")
    ds["red"][:] = 65535
    return ds


def _truncated_nc3(ctx: Ctx) -> list[str]:
    path = ctx.nc(fmt="NETCDF3_64BIT")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header and coordinates, not the bands
    return _run(ctx, path)


def _truncated_nc4(ctx: Ctx) -> list[str]:
    path = ctx.nc()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return _run(ctx, path)


def _text_as_nc(ctx: Ctx) -> list[str]:
    path = ctx.tmp / "notes.nc"
    path.write_text("these are my notes, not a stack\n")
    return _run(ctx, path)


def _tifs(ctx: Ctx, **kw) -> Path:
    return tif_folder(ctx.tmp / f"tifs{len(list(ctx.tmp.glob('tifs*')))}", **kw)


def _mixed_dtypes(ctx: Ctx) -> list[str]:
    ctx.extra["reference"] = _tifs(ctx)
    return _run(ctx, _tifs(ctx, dtypes=["float32", "int16"] * (T // 2)))


def _same_masks_as_reference(ctx: Ctx, _printed: str) -> None:
    got = masks(ctx.out)
    ref_out = ctx.tmp / "reference-out"
    assert main(["run", "--input", str(ctx.extra["reference"]), "--out", str(ref_out), "-q"]) == 0
    np.testing.assert_array_equal(got, masks(ref_out))


def _nodata_by_date(ctx: Ctx) -> list[str]:
    holes = [(5, 5), (6, 6), (20, 7)]
    ctx.extra["holes"] = holes
    nodata = [-999.0 if i % 2 else 0.0 for i in range(T)]
    return _run(ctx, _tifs(ctx, nodata=nodata, holes=holes))


def _holes_are_no_observation(ctx: Ctx, _printed: str) -> None:
    m = masks(ctx.out)
    for y, x in ctx.extra["holes"]:  # type: ignore[attr-defined]
        assert (m[:, y, x] == 0).all()
    assert (m > 0).mean() > 0.99


def _one_date_scaled_float(ctx: Ctx) -> list[str]:
    folder = _tifs(ctx, dtypes=["int16"] * (T - 1) + ["float32"], scale_float=1.0)
    return _run(ctx, folder)


def _truncated_tif(ctx: Ctx) -> list[str]:
    folder = _tifs(ctx)
    last = sorted(folder.glob("*.tif"))[-1]
    data = last.read_bytes()
    last.write_bytes(data[: len(data) * 2 // 3])
    return _run(ctx, folder)


def _same_date_twice(ctx: Ctx) -> list[str]:
    folder = _tifs(ctx)
    first = sorted(folder.glob("*.tif"))[0]
    shutil.copy(first, folder / "copy_of_first.tif")
    return _run(ctx, folder)


def _different_grid(ctx: Ctx) -> list[str]:
    folder = _tifs(ctx)
    import rasterio

    last = sorted(folder.glob("*.tif"))[-1]
    with rasterio.open(last, "r+") as dst:
        dst.transform = dst.transform @ dst.transform.translation(3, 0)
    return _run(ctx, folder)


def _no_date(ctx: Ctx) -> list[str]:
    folder = _tifs(ctx, names=[f"scene{i}.tif" for i in range(T)])
    import rasterio

    for p in folder.glob("*.tif"):
        with rasterio.open(p, "r+") as dst:
            dst.update_tags(date="")
    return _run(ctx, folder)


def _missing_band(ctx: Ctx) -> list[str]:
    return _run(ctx, ctx.nc(lambda ds: ds.drop_vars("swir2")))


def _no_time(ctx: Ctx) -> list[str]:
    return _run(ctx, ctx.nc(lambda ds: ds.isel(time=0)))


# -- thresholds and arguments -----------------------------------------------------------------


def _with_earlier(*args: str) -> Callable[[Ctx], list[str]]:
    def setup(ctx: Ctx) -> list[str]:
        stack = ctx.earlier()
        return _run(ctx, stack, *args)

    return setup


def _fresh(*args: str) -> Callable[[Ctx], list[str]]:
    return lambda ctx: _run(ctx, ctx.nc(), *args)


def _quicklook_absent(ctx: Ctx) -> list[str]:
    import tsmask_qgis.pipeline._run as pipeline_run

    def no_compute(*a, **k):
        raise AssertionError("the masks were computed before the quicklook dates were checked")

    ctx.monkeypatch.setattr(pipeline_run, "detect", no_compute)
    return _run(ctx, ctx.nc(), "--quicklook", "2019-01-01")


# -- the output folder ----------------------------------------------------------------------


def _edit(stack: Path, *, keep_mtime: bool) -> None:
    st = stack.stat()
    ds = xr.open_dataset(stack, mask_and_scale=False).load()
    ds.close()
    for b in ds.data_vars:
        ds[b][2] = np.int16(4000)  # date 3 all bright: cloud
    edited = stack.with_name("edited.nc")
    ds.to_netcdf(edited)
    os.replace(edited, stack)
    if keep_mtime:
        os.utime(stack, ns=(st.st_atime_ns, st.st_mtime_ns))


def _edited(*, overwrite: bool, keep_mtime: bool = False) -> Callable[[Ctx], list[str]]:
    def setup(ctx: Ctx) -> list[str]:
        stack = ctx.earlier()
        _edit(stack, keep_mtime=keep_mtime)
        ctx.extra["stack"] = stack
        return _run(ctx, stack, *(["--overwrite"] if overwrite else []))

    return setup


def _edited_masks_recomputed(ctx: Ctx, printed: str) -> None:
    assert "earlier run" not in printed
    fresh = ctx.tmp / "fresh"
    assert main(["run", "--input", str(ctx.extra["stack"]), "--out", str(fresh), "-q"]) == 0
    np.testing.assert_array_equal(masks(ctx.out), masks(fresh))
    assert (masks(ctx.out)[2] == 2).mean() > 0.5


def _fewer_dates(ctx: Ctx) -> list[str]:
    ctx.earlier()
    return _run(ctx, ctx.nc(t=T // 2), "--overwrite")


def _only_the_new_dates(ctx: Ctx, _printed: str) -> None:
    assert len(list((ctx.out / "cog").glob("*.tif"))) == T // 2
    assert len(list((ctx.out / "cog").glob("*.qml"))) == T // 2


def _first_job_still_resumes(ctx: Ctx, _printed: str) -> None:
    stack = next(iter(sorted(ctx.tmp.glob("stack*.nc"))))
    assert main(_run(ctx, stack)) == 0
    assert snapshot(ctx.out) == ctx.before


def _locked(ctx: Ctx) -> list[str]:
    stack = ctx.earlier()
    held = contextlib.ExitStack()
    held.enter_context(folder_lock(ctx.out))
    ctx.request.addfinalizer(held.close)
    ctx.extra["held"] = held
    return _run(ctx, stack)


def _names_this_pid(ctx: Ctx, printed: str) -> None:
    assert f"(pid {os.getpid()})" in printed
    ctx.extra["held"].close()  # type: ignore[attr-defined]


def _stale_lock(ctx: Ctx) -> list[str]:
    stack = ctx.nc()
    ctx.out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (ctx.out / LOCK_NAME).write_text(str(dead.pid))
    return _run(ctx, stack)


def _dead_temporaries(ctx: Ctx) -> list[str]:
    stack = ctx.earlier()
    stream = ctx.tmp / "stream"
    stream.mkdir()
    ctx.monkeypatch.setenv("TSMASK_TMPDIR", str(stream))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (stream / f"{TMP_PREFIX}{dead.pid}-abc.u8").write_bytes(b"x")
    (stream / f"{TMP_PREFIX}{os.getpid()}-live.u8").write_bytes(b"x")
    for where in (ctx.out, ctx.out / "cog", ctx.out / "cog" / f"{TMP_PREFIX}dir"):
        where.mkdir(exist_ok=True)
        (where / f"{TMP_PREFIX}0123abcd-tsmask.nc").write_bytes(b"half")
    return _run(ctx, stack)


def _temporaries_gone(ctx: Ctx, printed: str) -> None:
    stream = ctx.tmp / "stream"
    assert sorted(p.name for p in stream.iterdir()) == [f"{TMP_PREFIX}{os.getpid()}-live.u8"]
    (stream / f"{TMP_PREFIX}{os.getpid()}-live.u8").unlink()
    assert snapshot(ctx.out) == ctx.before


def _nested_live_run(ctx: Ctx) -> list[str]:
    stack = ctx.earlier()
    sub = ctx.out / "sub"
    sub.mkdir()
    held = contextlib.ExitStack()
    held.enter_context(folder_lock(sub))
    ctx.request.addfinalizer(held.close)
    (sub / f"{TMP_PREFIX}0123abcd-tsmask.nc").write_bytes(b"being written")
    ctx.extra["held"] = held
    return _run(ctx, stack)


def _nested_temporary_kept(ctx: Ctx, _printed: str) -> None:
    live = ctx.out / "sub" / f"{TMP_PREFIX}0123abcd-tsmask.nc"
    assert live.read_bytes() == b"being written"
    ctx.extra["held"].close()  # type: ignore[attr-defined]
    live.unlink()


def _bad_manifest(*, overwrite: bool) -> Callable[[Ctx], list[str]]:
    def setup(ctx: Ctx) -> list[str]:
        stack = ctx.earlier()
        (ctx.out / MANIFEST_NAME).write_text("{not json")
        ctx.before = snapshot(ctx.out)
        return _run(ctx, stack, *(["--overwrite"] if overwrite else []))

    return setup


def _ambiguous_mask(ctx: Ctx) -> list[str]:
    two = ctx.nc(lambda ds: ds[["red", "nir"]])
    return ["evaluate", "--mask", str(two), "--reference", str(two), "--out", str(ctx.out)]


def _foreign_files(ctx: Ctx) -> list[str]:
    ctx.out.mkdir()
    (ctx.out / "tsmask.nc").write_bytes(b"someone else's file")
    ctx.before = snapshot(ctx.out)
    return _run(ctx, ctx.nc())


def _out_is_a_file(ctx: Ctx) -> list[str]:
    stack = ctx.nc()
    ctx.out.write_text("a file")
    return _run(ctx, stack)


def _quiet_and_masked(ctx: Ctx, printed: str) -> None:
    assert "note:" not in printed
    assert (masks(ctx.out)[:, :4, :4] == 0).all()


def _only_the_cog_job(ctx: Ctx, printed: str) -> None:
    assert not (ctx.out / "tsmask.nc").exists() and "earlier run" not in printed
    assert len(list((ctx.out / "cog").glob("*.tif"))) == T


def _no_lock_left(ctx: Ctx, _printed: str) -> None:
    assert not (ctx.out / LOCK_NAME).exists()


def _file_untouched(ctx: Ctx, _printed: str) -> None:
    assert ctx.out.read_text() == "a file"


# -- a full disk (a small tmpfs; mounting one needs root) -------------------------------------


def _small_disk(ctx: Ctx) -> Path:
    where = ctx.tmp / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    ctx.request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(where)], check=False))
    return where


def _disk_full_at(fmt: str) -> Callable[[Ctx], list[str]]:
    """A run of one format into a disk with half the space its files take."""

    def setup(ctx: Ctx) -> list[str]:
        from tsmask_qgis.cli.demo import sample_path

        args = ["--format", fmt] if fmt != "quicklook" else ["--quicklook", "all"]
        ref = ctx.tmp / "ref"
        stack = str(sample_path())
        assert main(["run", "--input", stack, "--out", str(ref), "-q", *args]) == 0
        need = sum(p.stat().st_size for p in ref.rglob("*") if p.is_file())
        disk = _small_disk(ctx)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - need // 2))
        ctx.out = disk / "out"
        ctx.extra.update(
            filler=filler,
            ref=ref,
            argv=["run", "--input", stack, "--out", str(ctx.out), "-q", *args],
        )
        return ctx.extra["argv"]  # type: ignore[return-value]

    return setup


def _resumes_once_freed(ctx: Ctx, printed: str) -> None:
    assert not list(ctx.out.rglob(f"{TMP_PREFIX}*"))  # no half-written file
    cubes = ("tsmask.nc", "tsmask_envi.img", "tsmask_multiband.tif")
    if any(f"while writing {name}" in printed for name in cubes):
        assert "needs up to 0.3 mb" in printed  # the whole cube, uncompressed
    ctx.extra["filler"].unlink()  # type: ignore[attr-defined]
    assert main(ctx.extra["argv"]) == 0  # type: ignore[arg-type]
    assert snapshot(ctx.out).keys() == snapshot(ctx.extra["ref"]).keys()  # type: ignore[arg-type]


# -- the catalogue (the test STAC API on 127.0.0.1) -------------------------------------------


def _served(ctx: Ctx, collection: str = "sentinel-2-c1-l2a") -> list[str]:
    """The request options of the test catalogue's two-zone area (3 dates)."""
    from tests.catalogue import AREA
    from tests.cli.conftest import FAST
    from tsmask_qgis.loaders import _stac

    served = ctx.request.getfixturevalue("served")
    ctx.monkeypatch.setattr(_stac, "NETWORK", FAST)
    ctx.extra["served"] = served
    return [
        *("--bbox", *map(str, AREA), "--start", "2021-12-01", "--end", "2022-03-31"),
        *("--source", "custom", "--stac-url", served.url, "--collection", collection),
    ]


def _corrupt_cache(ctx: Ctx) -> None:
    cache = Path(os.environ["TSMASK_CACHE_DIR"])
    (entry,) = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    npy = entry / "red.npy"
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 2])


def _damaged_cache_entry(ctx: Ctx) -> list[str]:
    area = _served(ctx)
    first = ctx.tmp / "first"
    assert main(["run", *area, "--out", str(first), "-q"]) == 0
    _corrupt_cache(ctx)
    ctx.extra["first"] = first
    ctx.extra["area"] = area
    return ["run", *area, "--out", str(ctx.out), "-q"]


def _cache_healed(ctx: Ctx, printed: str, capsys: pytest.CaptureFixture[str]) -> None:
    np.testing.assert_array_equal(masks(ctx.out), masks(ctx.extra["first"]))  # type: ignore[arg-type]
    area = ctx.extra["area"]
    assert main(["estimate", *area]) == 0  # type: ignore[list-item]
    assert "already in the local cache" in capsys.readouterr().out
    _corrupt_cache(ctx)  # a damaged entry is not reported as cached
    assert main(["estimate", *area]) == 0  # type: ignore[list-item]
    seen = capsys.readouterr()
    assert "already in the local cache" not in seen.out and "damaged" in seen.err


def _junk_search(ctx: Ctx) -> list[str]:
    area = _served(ctx)
    fault = ctx.extra["served"].server.fault("/search", truncate=25)  # type: ignore[attr-defined]
    fault.__enter__()
    ctx.request.addfinalizer(lambda: fault.__exit__(None, None, None))
    return ["run", *area, "--out", str(ctx.out), "-q"]


# -- the table --------------------------------------------------------------------------------

ROWS = [
    # 1: float reflectance x 10000, read lazily
    Row(
        "float-x10000-netcdf",
        lambda ctx: _run(ctx, ctx.nc(_scaled_float)),
        3,
        ("scaled by 10000", "0..1"),
        "none",
    ),
    Row(
        "float-x10000-netcdf-keeps-earlier-masks",
        lambda ctx: _run(ctx, (ctx.earlier(), ctx.nc(_scaled_float))[1], "--overwrite"),
        3,
        ("scaled by 10000",),
        "unchanged",
    ),
    # 2: per-date dtype in a GeoTIFF folder
    Row(
        "tif-float-and-int16-dates",
        _mixed_dtypes,
        0,
        (),
        "job",
        _same_masks_as_reference,
    ),
    Row(
        "tif-one-date-float-x10000",
        _one_date_scaled_float,
        3,
        ("scaled by 10000", "s2_2016-01-31.tif"),
    ),
    # 3: per-date nodata in a GeoTIFF folder
    Row("tif-nodata-differs-by-date", _nodata_by_date, 0, (), "job", _holes_are_no_observation),
    # 4: truncated files
    Row("netcdf3-truncated-after-coordinates", _truncated_nc3, 3, ("truncated", "again")),
    Row("netcdf4-truncated", _truncated_nc4, 3, ("damaged",)),
    Row("geotiff-truncated", _truncated_tif, 3, ("s2_2016-01-31.tif", "damaged")),
    # 5: undeclared nodata, constants, thresholds
    Row(
        "int-zero-fill-without-nodata-warns",
        lambda ctx: _run(ctx, ctx.nc(_no_nodata_zero_fill)),
        0,
        ("note:", "0 in every band", "declare it"),
        "job",
    ),
    Row(
        "int-zero-fill-declared-is-quiet",
        lambda ctx: _run(ctx, ctx.nc(_zero_fill_declared)),
        0,
        (),
        "job",
        _quiet_and_masked,
    ),
    Row(
        "constant-65535-band",
        lambda ctx: _run(ctx, ctx.nc(_constant)),
        3,
        ("'red'", "65535", "nodata value"),
    ),
    Row(
        "threshold-nan",
        _with_earlier("--set", "cloud_spike=nan", "--overwrite"),
        2,
        ("cloud_spike", "finite", "--set"),
        "unchanged",
    ),
    Row(
        "threshold-inf",
        _with_earlier("--set", "shadow_spike=inf"),
        2,
        ("shadow_spike", "finite"),
        "unchanged",
    ),
    Row(
        "threshold-negative-reflectance",
        _with_earlier("--set", "brightness=-0.2"),
        2,
        ("brightness", "from 0 to 2"),
        "unchanged",
    ),
    Row(
        "threshold-negative-spike",
        _with_earlier("--set", "cloud_spike=-0.1"),
        2,
        ("cloud_spike", "relative"),
        "unchanged",
    ),
    Row(
        "threshold-count-out-of-range",
        _with_earlier("--set", "majority_min_count=12"),
        2,
        ("majority_min_count", "0 to 8"),
        "unchanged",
    ),
    Row(
        "threshold-low-above-high",
        _with_earlier("--preset", "seed", "--set", "thin_rgm_low=0.5"),
        2,
        ("thin_rgm_low", "below thin_rgm_high"),
        "unchanged",
    ),
    Row("passes-one-window", _fresh("--set", "passes=3"), 0, (), "job"),
    Row("passes-zero", _fresh("--set", "passes=0"), 2, ("passes", "1,1,2")),
    Row("passes-fraction", _fresh("--set", "passes=1.5"), 2, ("passes",)),
    # 6: an input edited in place
    Row(
        "edited-input-is-another-job",
        _edited(overwrite=False),
        6,
        ("another job", "input", "--overwrite"),
        "unchanged",
    ),
    Row(
        "edited-input-same-mtime-is-another-job",
        _edited(overwrite=False, keep_mtime=True),
        6,
        ("another job", "input"),
        "unchanged",
    ),
    Row(
        "edited-input-overwrite-recomputes",
        _edited(overwrite=True),
        0,
        (),
        "job",
        _edited_masks_recomputed,
    ),
    # 7: --overwrite with fewer dates
    Row("overwrite-fewer-dates-no-stale-files", _fewer_dates, 0, (), "job", _only_the_new_dates),
    # 8: another job in the same folder
    Row(
        "other-formats-refused-first-job-resumes",
        _with_earlier("--format", "cog"),
        6,
        ("another job", "formats", "--overwrite"),
        "unchanged",
        _first_job_still_resumes,
    ),
    Row(
        "other-preset-refused",
        _with_earlier("--preset", "seed"),
        6,
        ("another job", "preset"),
        "unchanged",
    ),
    Row(
        "other-thresholds-refused",
        _with_earlier("--set", "cloud_spike=0.5"),
        6,
        ("another job", "thresholds"),
        "unchanged",
    ),
    Row(
        "other-formats-with-overwrite",
        _with_earlier("--format", "cog", "--overwrite"),
        0,
        (),
        "job",
        _only_the_cog_job,
    ),
    Row(
        "unreadable-manifest-refused",
        _bad_manifest(overwrite=False),
        6,
        ("unreadable manifest", "--overwrite"),
        "unchanged",
    ),
    Row("unreadable-manifest-overwrite", _bad_manifest(overwrite=True), 0, (), "job"),
    # 9: the lock, and dead runs' leftovers
    Row(
        "folder-locked-by-a-live-run",
        _locked,
        6,
        ("another run (pid", "wait for it"),
        "unchanged",
        _names_this_pid,
    ),
    Row(
        "stale-lock-taken-over",
        _stale_lock,
        0,
        (),
        "job",
        _no_lock_left,
    ),
    Row(
        "dead-runs-temporaries-cleaned",
        _dead_temporaries,
        0,
        ("complete from an earlier run",),
        "job",
        _temporaries_gone,
    ),
    Row(
        "nested-live-run-temporaries-left-alone",
        _nested_live_run,
        0,
        ("complete from an earlier run",),
        "unchanged",
        _nested_temporary_kept,
    ),
    Row(
        "same-job-again-resumes",
        _with_earlier(),
        0,
        ("complete from an earlier run",),
        "unchanged",
    ),
    # messages
    Row(
        "text-file-named-nc",
        _text_as_nc,
        3,
        ("not a netcdf file", "these are my"),
        absent=("io dependencies", "traceback"),
    ),
    Row(
        "tif-same-date-twice",
        _same_date_twice,
        3,
        ("more than once", "copy_of_first.tif", "s2_2015-11-02.tif"),
        absent=("reindex", "traceback"),
    ),
    Row(
        "quicklook-not-a-date",
        _fresh("--quicklook", "tomorrow"),
        2,
        ("'tomorrow' is not a date", "--quicklook"),
    ),
    Row(
        "quicklook-date-absent-checked-before-compute",
        _quicklook_absent,
        2,
        ("2019-01-01", "not among the dates", "--quicklook"),
    ),
    Row(
        "quicklook-all-and-a-date",
        _fresh("--quicklook", "all", "2016-01-01"),
        2,
        ("not a date",),
    ),
    Row(
        "foreign-files-without-manifest",
        _foreign_files,
        6,
        ("exists", "--overwrite"),
        "unchanged",
    ),
    # 10: a full disk at every writer
    *(
        Row(
            f"disk-full-at-{fmt}",
            _disk_full_at(fmt),
            6,
            ("no space left", "small/out", "free some space", "--out"),
            "job",
            _resumes_once_freed,
        )
        for fmt in (
            "netcdf",
            "cog",
            "multiband",
            "envi",
            "qml",
            "summary",
            "count",
            "chart",
            "quicklook",
        )
    ),
    # 12: a damaged cache entry is dropped and fetched again (said once)
    Row(
        "cache-entry-truncated",
        _damaged_cache_entry,
        0,
        ("damaged", "fetched again"),
        "job",
        _cache_healed,
    ),
    Row(
        "search-answer-not-json",
        _junk_search,
        5,
        ("not a stac", "try again later"),
        "none",
        absent=("network connection", "traceback"),
    ),
    Row(
        "unknown-collection",
        lambda ctx: ["run", *_served(ctx, "sentinel-9"), "--out", str(ctx.out), "-q"],
        2,
        ("sentinel-9", "collections", "--collection"),
        absent=("widen the dates", "traceback"),
    ),
    Row(
        "unknown-collection-estimate",
        lambda ctx: ["estimate", *_served(ctx, "sentinel-9")],
        2,
        ("sentinel-9", "--collection"),
        absent=("widen the dates", "traceback"),
    ),
    Row(
        "evaluate-mask-variable-ambiguous",
        _ambiguous_mask,
        3,
        ("which variable is the mask", "--variable"),
        absent=("variable=", "traceback"),
    ),
    Row(
        "estimate-bad-cloud-cover-is-a-usage-error",
        lambda ctx: ["estimate", *_served(ctx), "--cloud-cover", "200"],
        2,
        ("cloud", "--cloud-cover"),
    ),
    # cases that already worked (kept working)
    Row("good-run", _fresh(), 0, ("files in",), "job"),
    Row(
        "missing-input",
        lambda ctx: _run(ctx, ctx.tmp / "nowhere.nc"),
        3,
        ("does not exist", "--input"),
    ),
    Row(
        "folder-without-geotiffs",
        lambda ctx: _run(ctx, (ctx.tmp / "empty").mkdir() or ctx.tmp / "empty"),
        3,
        ("holds no geotiff",),
    ),
    Row("missing-band", _missing_band, 3, ("lacks band(s) swir2",)),
    Row("netcdf-without-time", _no_time, 3, ("time",)),
    Row("tif-different-grid", _different_grid, 3, ("different grid",)),
    Row("tif-without-date", _no_date, 3, ("no date found",)),
    Row("unknown-format", _fresh("--format", "jpeg"), 2, ("unknown output format", "--format")),
    Row("unknown-threshold", _fresh("--set", "nope=1"), 2, ("unknown threshold(s) nope",)),
    Row("not-a-number-threshold", _fresh("--set", "cloud_spike=high"), 2, ("not a number",)),
    Row("bad-memory-size", _fresh("--max-memory", "lots"), 2, ("as a size", "--max-memory")),
    Row("zero-workers", _fresh("--workers", "0"), 2, ("workers", "--workers")),
    Row(
        "reference-with-local-input",
        _fresh("--with-reference", "scl"),
        2,
        ("--with-reference",),
    ),
    Row(
        "input-and-bbox",
        lambda ctx: [*_run(ctx, ctx.nc()), "--bbox", "1", "2", "3", "4"],
        2,
        ("either --input or --bbox",),
    ),
    Row(
        "out-is-a-file",
        _out_is_a_file,
        6,
        ("is a file", "--out"),
        "unchanged",
        _file_untouched,
    ),
]


def _left(ctx: Ctx, left: str) -> None:
    if left == "none":
        assert not ctx.out.exists() or not [p for p in ctx.out.rglob("*") if p.is_file()]
    elif left == "unchanged":
        if ctx.out.is_file():
            return
        assert ctx.before is not None
        assert snapshot(ctx.out) == ctx.before
    elif left == "job":
        manifest = json.loads((ctx.out / MANIFEST_NAME).read_text())
        assert manifest["complete"] is True
        listed = set(manifest["outputs"]) | {MANIFEST_NAME}
        assert set(snapshot(ctx.out)) == listed
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(left)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row: Row, tmp_path, monkeypatch, capsys, request):
    ctx = Ctx(tmp_path, monkeypatch, request)
    argv = row.setup(ctx)
    capsys.readouterr()
    code = main(argv)
    printed = capsys.readouterr()
    text = (printed.out + printed.err).lower()
    assert code == row.code, printed.err
    for word in row.words:
        assert word.lower() in text, f"{word!r} not in {text!r}"
    for word in row.absent:
        assert word not in text, f"{word!r} in {text!r}"
    if row.code != 0:
        assert len(printed.err.strip().splitlines()) == 1, printed.err
    if row.check is not None:
        if "capsys" in row.check.__code__.co_varnames:
            row.check(ctx, text, capsys)  # type: ignore[call-arg]
        else:
            row.check(ctx, text)
    _left(ctx, row.left)
    assert not [p for p in tmp_path.rglob(f"{TMP_PREFIX}*")]


def test_the_table_has_at_least_40_rows():
    assert len(ROWS) >= 40 and len({r.id for r in ROWS}) == len(ROWS)
