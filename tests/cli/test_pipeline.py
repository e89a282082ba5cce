"""pipeline.run: steps, cancel, resume after an interruption, reference evaluation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.test_cli import _small_stack
from tsmask_qgis import loaders
from tsmask_qgis.cli import main
from tsmask_qgis.engine import parse_memory
from tsmask_qgis.errors import NoDataError, UnreachableError
from tsmask_qgis.pipeline import (
    Job,
    output_layout,
    parse_size,
    run,
)
from tsmask_qgis.progress import Cancelled, plan
from tsmask_qgis.writers import MANIFEST_NAME, OutputExistsError


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Path:
    return _small_stack(tmp_path_factory.mktemp("stack") / "stack.nc", t=10)


def _files(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_job_validation(tmp_path, stack):
    with pytest.raises(ValueError, match="exactly one source"):
        Job(out=tmp_path)
    with pytest.raises(ValueError, match="unknown output format"):
        Job(out=tmp_path, input=stack, formats=("gif",))
    with pytest.raises(ValueError, match="unknown threshold"):
        Job(out=tmp_path, input=stack, overrides={"bogus": 1})
    with pytest.raises(ValueError, match="needs a catalogue search"):
        Job(out=tmp_path, input=stack, reference="scl")
    job = Job(out=tmp_path, input=stack, overrides={"cloud_spike": 0.5}, max_memory="4GB")
    assert job.overrides == (("cloud_spike", 0.5),) and job.max_memory == 4 * 10**9
    assert parse_size("512MiB") == 512 * 1024**2 and parse_size(None) is None
    assert parse_size("2GB") == parse_memory("2GB")  # the engine reads sizes the same way
    with pytest.raises(ValueError, match="as a size"):
        parse_size("lots")
    # the key ignores how the job runs, not what it computes
    same = Job(out=tmp_path, input=stack, overrides={"cloud_spike": 0.5}, workers=1)
    other = Job(out=tmp_path, input=stack, overrides={"cloud_spike": 0.4})
    assert job.key() == same.key() != other.key()


def test_run_reports_steps_in_order(tmp_path, stack):
    seen: list[tuple[float | None, str]] = []
    result = run(
        Job(out=tmp_path, input=stack, formats=("netcdf", "summary")),
        progress=seen.append,
    )
    steps = [r.step for r in seen]
    order = [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]
    # a local stack is read, not searched and downloaded
    assert order == ["read", "detect", "spatial", "write"] == list(plan(catalogue=False))
    assert not any(r.message.startswith(f"{r.step}:") for r in seen)  # no step in the text
    fractions = [r.overall for r in seen if r.overall is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(result.summary) == 10 and result.netcdf == tmp_path / "tsmask.nc"


def test_cancel_then_resume_reuses_complete_outputs(tmp_path, stack):
    job = Job(out=tmp_path, input=stack, formats=("netcdf", "cog", "summary"))

    def cancel_at_cog_5(report):
        if "mask COG 5/" in report.message:
            raise Cancelled("user pressed cancel")

    with pytest.raises(Cancelled):
        run(job, progress=cancel_at_cog_5)
    first = _files(tmp_path)
    assert not any(".tsmask-tmp" in n for n in first)
    assert "tsmask.nc" in first and "summary.csv" not in first
    assert sorted(n for n in first if n.startswith("cog/")) == [
        f"cog/tsmask_{d}.tif" for d in ("2015-11-02", "2015-11-12", "2015-11-22", "2015-12-02")
    ]
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["complete"] is False

    reports: list = []
    result = run(job, progress=reports.append)  # same job, no overwrite
    assert any("mask from tsmask.nc" in r.message for r in reports)  # detection not redone
    assert not any(r.step == "detect" and "mask from" not in r.message for r in reports)
    after = _files(tmp_path)
    for name, mtime in first.items():
        if name != MANIFEST_NAME:
            assert after[name] == mtime, f"{name} was rewritten"
    assert len([n for n in after if n.startswith("cog/")]) == 10
    assert {p.name for p in result.reused} >= {"tsmask.nc", "tsmask_2015-11-02.tif"}
    # a third run finds everything complete and reads nothing
    reports.clear()
    again = run(job, progress=reports.append)
    assert [(r.step, r.message) for r in reports] == [
        ("write", "all outputs complete from an earlier run")
    ]
    assert again.summary == result.summary and set(again.reused) == set(again.paths)
    assert again.files == result.files and again.times == result.times


def test_truncated_output_is_rewritten_on_resume(tmp_path, stack):
    job = Job(out=tmp_path, input=stack, formats=("netcdf", "summary"))
    run(job)
    csv = tmp_path / "summary.csv"
    good = csv.read_text()
    csv.write_text(good[:20])  # damaged after the run: size no longer matches the manifest
    run(job)
    assert csv.read_text() == good


def test_other_job_does_not_overwrite(tmp_path, stack):
    run(Job(out=tmp_path, input=stack, formats=("netcdf",)))
    before = (tmp_path / "tsmask.nc").stat().st_mtime_ns
    with pytest.raises(OutputExistsError, match="allow overwriting") as err:
        run(Job(out=tmp_path, input=stack, formats=("netcdf",), preset="seed"))
    assert err.value.field == "overwrite"  # each front end names its own way to overwrite
    assert (tmp_path / "tsmask.nc").stat().st_mtime_ns == before
    run(Job(out=tmp_path, input=stack, formats=("netcdf",), preset="dea", overwrite=True))
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["job"]["preset"] == "dea"


def test_failure_mid_write_leaves_no_partial_file(tmp_path, stack, monkeypatch):
    import dataclasses

    from tsmask_qgis import writers

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    chart = dataclasses.replace(writers.FORMATS["chart"], write=broken)
    monkeypatch.setitem(writers.FORMATS, "chart", chart)
    with pytest.raises(OSError, match="No space left"):
        run(Job(out=tmp_path, input=stack, formats=("netcdf", "chart")))
    assert sorted(_files(tmp_path)) == [MANIFEST_NAME, "tsmask.nc"]


def test_layout_lists_every_format(tmp_path, stack):
    job = Job(
        out=tmp_path,
        input=stack,
        formats=("netcdf", "cog", "multiband", "envi", "qml", "summary", "count", "chart"),
        truecolour=True,
    )
    lay = output_layout(job, ["2020-01-01"])
    names = {p.relative_to(tmp_path).as_posix() for ps in lay.values() for p in ps}
    assert {
        "tsmask.nc",
        "cog/tsmask_2020-01-01.tif",
        "cog/tsmask_2020-01-01.qml",
        "tsmask_multiband.tif",
        "tsmask_multiband.qml",
        "tsmask_envi.img",
        "tsmask_envi.hdr",
        "tsmask_envi.qml",
        "tsmask.qml",
        "summary.csv",
        "summary.json",
        "clear_count.tif",
        "chart.png",
        "truecolour/truecolour_2020-01-01.tif",
    } == names


# -- catalogue requests (the loaders' network side replaced by local data) --------------

REQ = ["--bbox", "149.0", "-35.4", "149.1", "-35.3", "--start", "2016-01-01", "--end", "2016-03-01"]


def test_no_items_exit_4_and_network_exit_5(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loaders, "search", lambda r, progress=None, network=None: [], raising=False)
    assert main(["run", *REQ, "--out", str(tmp_path / "a")]) == 4
    assert "no Sentinel-2 acquisitions" in capsys.readouterr().err

    def down(request, progress=None, network=None):
        raise ConnectionError("connection refused by earth-search")

    monkeypatch.setattr(loaders, "search", down, raising=False)
    assert main(["run", *REQ, "--out", str(tmp_path / "b")]) == 5
    with pytest.raises(UnreachableError):
        run(
            Job(
                out=tmp_path / "c",
                request=loaders.Request((149, -35.4, 149.1, -35.3), "2016-01-01", "2016-02-01"),
            )
        )
    monkeypatch.setattr(loaders, "search", lambda r, progress=None, network=None: [], raising=False)
    with pytest.raises(NoDataError):
        run(
            Job(
                out=tmp_path / "d",
                request=loaders.Request((149, -35.4, 149.1, -35.3), "2016-01-01", "2016-02-01"),
            )
        )
    assert not list((tmp_path / "d").iterdir())


def test_importing_pipeline_does_not_import_numba():
    import subprocess
    import sys

    code = (
        "import sys, tsmask_qgis.pipeline, tsmask_qgis.writers, tsmask_qgis.cli;"
        "import tsmask_qgis.cli.run, tsmask_qgis.cli.demo;"
        "print('numba' in sys.modules, 'qgis' in sys.modules, 'matplotlib' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.stdout.strip() == "False False False", r.stderr


def test_overwrite_starts_afresh(tmp_path, stack):
    job = Job(out=tmp_path, input=stack, formats=("summary",))
    run(job)
    before = (tmp_path / "summary.csv").stat().st_mtime_ns
    result = run(Job(out=tmp_path, input=stack, formats=("summary",), overwrite=True))
    assert result.reused == ()
    assert (tmp_path / "summary.csv").stat().st_mtime_ns != before


def _plain_types(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool, Path))


def test_result_lists_the_files_by_format_and_date(tmp_path, stack):
    """JobResult.files names every file on disk with its format and date; its plain
    form is builtins and paths only, and comes back whole (the plugin reads it)."""
    import datetime as dt

    from tsmask_qgis.pipeline import JobResult
    from tsmask_qgis.writers import FORMATS

    job = Job(
        out=tmp_path,
        input=stack,
        formats=("netcdf", "cog", "multiband", "envi", "qml", "summary", "count", "quicklook"),
        truecolour=True,
        quicklook_dates=("2015-11-12", "2015-12"),
    )
    result = run(job)
    on_disk = {p for p in tmp_path.rglob("*") if p.is_file() and p.name != MANIFEST_NAME}
    assert set(result.paths) == on_disk and len(result.paths) == len(on_disk)
    assert len(result.dates) == len(result.times) == 10
    assert [dt.datetime.fromisoformat(t).date().isoformat() for t in result.times] == list(
        result.dates
    )
    by_format: dict[str, list] = {}
    for f in result.files:
        by_format.setdefault(f.format, []).append(f)
    assert set(by_format) == {*job.formats, "truecolour"}
    for name in ("cog", "truecolour"):
        assert [f.date for f in by_format[name]] == list(result.dates)
        assert all(f.date in f.path.name for f in by_format[name])
    assert [f.date for f in by_format["quicklook"]] == ["2015-11-12", "2015-12-02"]
    assert all(f.date is None for n in ("netcdf", "envi", "summary", "count") for f in by_format[n])
    # a style beside each mask raster, of its date
    styled = {
        f.path.with_suffix(".qml"): f.date for n in ("cog", "multiband") for f in by_format[n]
    }
    assert {f.path: f.date for f in by_format["qml"] if f.path in styled} == styled
    assert result.netcdf == tmp_path / "tsmask.nc" and result.cogs == tuple(
        f.path for f in by_format["cog"]
    )
    plain = result.to_plain()
    assert set(plain) == {"out", "dates", "times", "summary", "files", "reused", "notes"}
    assert _plain_types(plain)
    assert plain["files"][0] == {"format": "netcdf", "path": tmp_path / "tsmask.nc", "date": None}
    assert plain["summary"][0]["date"] == result.dates[0] and "cloud_pct" in plain["summary"][0]
    assert JobResult.from_plain(plain) == result
    # the same job again: complete from the manifest, the same files and times
    again = run(job)
    assert again.files == result.files and again.times == result.times
    assert set(again.reused) == set(again.paths)
    assert {f.format for f in result.files} <= set(FORMATS)
