"""Atomic output: no half-written file after a failure, overwrite rules, clear errors."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tsmask_qgis import writers
from tsmask_qgis.progress import Cancelled
from tsmask_qgis.writers import (
    Manifest,
    OutputExistsError,
    OutputNotWritableError,
    atomic_output,
)


def _cancel_at(n: int):
    calls = {"n": 0}

    def progress(report):
        calls["n"] += 1
        if calls["n"] == n:
            raise Cancelled("stop")

    return progress


@pytest.mark.parametrize(
    ("writer", "target"),
    [
        (lambda m, p, **kw: writers.write_netcdf(m, p / "m.nc", **kw), "m.nc"),
        (lambda m, p, **kw: writers.write_multiband(m, p / "m.tif", **kw), "m.tif"),
        (lambda m, p, **kw: writers.write_envi(m, p / "m.img", **kw), "m.img"),
        (lambda m, p, **kw: writers.write_cogs(m, p, **kw), "tsmask_2021-01-23.tif"),
    ],
)
def test_cancel_mid_write_leaves_no_partial_file(tmp_path, mask, writer, target):
    with pytest.raises(Cancelled):
        writer(mask, tmp_path, progress=_cancel_at(3))  # cancelled while writing date 3
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not any(n.startswith(".tsmask-tmp") for n in names), names
    assert target not in names
    if target.startswith("tsmask_"):  # per-date COGs: the two finished dates are complete
        assert names == ["tsmask_2021-01-03.tif", "tsmask_2021-01-13.tif"]
    else:
        assert names == []


def test_failure_inside_block_removes_temporary(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_interrupt_removes_temporary(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path, mask):
    path = writers.write_netcdf(mask, tmp_path / "m.nc")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="allow overwriting") as err:
        writers.write_netcdf(mask * 0, path)
    assert err.value.field == "overwrite"
    assert path.read_bytes() == before
    writers.write_netcdf(mask * 0, path, overwrite=True)
    assert writers.read_netcdf_mask(path).values.max() == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nc"]


def test_envi_sidecar_counts_as_existing(tmp_path, mask):
    (tmp_path / "m.hdr").write_text("someone else's header")
    with pytest.raises(OutputExistsError, match=r"m\.hdr exists"):
        writers.write_envi(mask, tmp_path / "m.img")


def test_folder_that_is_a_file(tmp_path, mask):
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    with pytest.raises(OutputNotWritableError, match="is a file, not a folder"):
        writers.write_cogs(mask, blocker)
    with pytest.raises(OutputNotWritableError, match="choose"):
        writers.write_netcdf(mask, blocker / "sub" / "m.nc")


def test_folder_root_cannot_write():
    # Tests run as root: /proc is one of the few places root cannot create files.
    with pytest.raises(OutputNotWritableError, match="cannot write to /proc/tsmask"):
        writers.write_qml(Path("/proc/tsmask/m.qml"))


def test_disk_full_is_explained(tmp_path, mask, monkeypatch):
    import netCDF4

    real = netCDF4.Dataset

    class Full:
        def __init__(self, *a, **k):
            self._nc = real(*a, **k)

        def __getattr__(self, name):
            if name == "createVariable" and self._nc.dimensions.get("x") is not None:
                raise OSError(errno.ENOSPC, "No space left on device")
            return getattr(self._nc, name)

    monkeypatch.setattr(netCDF4, "Dataset", Full)
    with pytest.raises(OutputNotWritableError, match="no space left"):
        writers.write_netcdf(mask, tmp_path / "m.nc")
    assert list(tmp_path.iterdir()) == []


def test_manifest_records_complete_outputs(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("12345")
    m = Manifest(tmp_path, "k1", {}).with_output(a)
    m.save()
    back = Manifest.read(tmp_path)
    assert back is not None and back.key == "k1" and back.is_complete(a)
    a.write_text("123")  # truncated later: no longer complete
    assert not back.is_complete(a)
    assert not back.is_complete(tmp_path / "b.txt")
    (tmp_path / writers.MANIFEST_NAME).write_text("{not json")
    assert Manifest.read(tmp_path) is None
