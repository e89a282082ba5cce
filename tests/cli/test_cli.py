"""The ``tsmask`` command: in-process and as a subprocess (exit codes, messages, progress)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from tsmask_qgis import __version__
from tsmask_qgis.cli import EXIT_CODES, build_parser, exit_code, main
from tsmask_qgis.cli._progress import TerminalProgress
from tsmask_qgis.cli.demo import sample_path
from tsmask_qgis.errors import NoDataError, UnreachableError
from tsmask_qgis.progress import Cancelled, Report
from tsmask_qgis.writers import OutputExistsError, OutputNotWritableError

ROOT = Path(__file__).resolve().parents[2]


def _small_stack(path: Path, t: int = 8) -> Path:
    """A small local stack (a 24 x 24 crop of the bundled sample) as NetCDF."""
    with xr.open_dataset(sample_path(), mask_and_scale=False) as ds:
        ds.isel(time=slice(0, t), y=slice(0, 24), x=slice(0, 24)).load().to_netcdf(path)
    return path


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tsmask_qgis.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd or ROOT,
        env=env,
    )


def test_help_lists_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("run", "estimate", "sources", "demo", "cache"):
        assert cmd in out
    assert "examples:" in out
    for code, text in EXIT_CODES.items():
        assert f"{code:<4} {text}" in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"tsmask {__version__}"


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["run", "--out", str(tmp_path)]) == 2
    assert "missing --bbox, --start, --end" in capsys.readouterr().err
    assert main(["run", "--input", "x.nc", "--bbox", "1", "2", "3", "4", "--out", "o"]) == 2
    assert main(["run", "--input", "x.nc", "--set", "nope=1", "--out", "o"]) == 2
    assert "unknown threshold(s) nope" in capsys.readouterr().err
    assert main(["run", "--input", "x.nc", "--format", "jpeg", "--out", "o"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["run", "--start", "yesterday", "--out", "o"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2


def test_bad_input_exit_3(capsys, tmp_path):
    assert main(["run", "--input", str(tmp_path / "none.nc"), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert err.startswith("tsmask: error: ") and "does not exist" in err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    corrupt = tmp_path / "bad.nc"
    corrupt.write_bytes(b"CDF\x01 truncated")
    assert main(["run", "--input", str(corrupt), "--out", str(tmp_path / "o")]) == 3
    assert not any((tmp_path / "o").glob("*.nc"))


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (Cancelled("x"), 130),
        (KeyboardInterrupt(), 130),
        (OutputExistsError("x"), 6),
        (OutputNotWritableError("x"), 6),
        (NoDataError("x"), 4),
        (UnreachableError("x"), 5),
        (TimeoutError("x"), 5),
        (ValueError("x"), 3),
        (RuntimeError("x"), 1),
    ],
)
def test_exit_code_mapping(exc, code):
    assert exit_code(exc) == code


def test_run_local_then_exists_then_overwrite(tmp_path, capsys):
    stack = _small_stack(tmp_path / "stack.nc")
    out = tmp_path / "out"
    args = ["run", "--input", str(stack), "--out", str(out), "--format", "netcdf,cog", "qml"]
    assert main([*args, "--preset", "dea", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "2015-11-02" in printed and f"files in {out.resolve()}" in printed
    with rasterio.open(out / "cog" / "tsmask_2015-11-02.tif") as ds:
        assert ds.width == 24 and ds.crs.to_epsg() == 32755
    assert (out / "cog" / "tsmask_2015-11-02.qml").exists()
    # another job into the same folder: refused with a pointer to --overwrite
    assert main([*args, "--preset", "seed"]) == 6
    assert "use --overwrite" in capsys.readouterr().err
    assert main([*args, "--preset", "seed", "--overwrite"]) == 0


def test_unwritable_out_exit_6(tmp_path, capsys):
    stack = _small_stack(tmp_path / "stack.nc", t=4)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--input", str(stack), "--out", str(blocker)]) == 6
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["run", "--input", str(stack), "--out", "/proc/tsmask-out"]) == 6


def test_progress_quiet_when_not_a_tty(tmp_path):
    stack = _small_stack(tmp_path / "stack.nc", t=6)
    r = _cli("run", "--input", str(stack), "--out", str(tmp_path / "o"), "--format", "summary")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no bar, no noise in logs
    rows = json.loads((tmp_path / "o" / "summary.json").read_text())["dates"]
    assert len(rows) == 6


class _TTY:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_progress_bar_per_step():
    tty = _TTY()
    with TerminalProgress(stream=tty) as bar:
        bar(Report("search", 0.0, "looking"))
        bar(Report("load", 0.2, "reading"))
        bar(Report("write", 0.9, "files"))
    for step in ("search", "load", "write"):
        assert step in tty.text
    assert "100%" in tty.text
    quiet = _TTY()
    with TerminalProgress(stream=quiet, quiet=True) as bar:
        bar(Report("load", 0.5, "x"))
    assert quiet.text == ""


def test_subprocess_exit_codes_and_one_line_errors(tmp_path):
    r = _cli("run", "--input", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "o"))
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = _cli("--debug", "run", "--input", str(tmp_path / "missing.nc"), "--out", "o")
    assert r.returncode == 3 and "Traceback" in r.stderr
    r = _cli("sources")
    assert r.returncode == 0 and "earth-search-c1 (default)" in r.stdout
    assert "nir=nir08" in r.stdout and "seed" in r.stdout


def test_demo_preset_choice_and_default_folders(capsys):
    from tsmask_qgis.cli.demo import closing_note, default_out

    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--preset {seed,dea}" in capsys.readouterr().out
    assert default_out("dea") == Path("tsmask-demo")  # the default preset
    assert default_out("seed") == Path("tsmask-demo-seed")  # side by side, no clash
    assert "thin-cloud rule" in closing_note("seed") and "--preset dea" in closing_note("seed")
    assert "docs/accuracy.md" in closing_note("dea")


def test_parser_registers_subcommand_modules():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"run", "estimate", "sources", "demo", "cache"} <= set(sub.choices)


def test_demo_end_to_end(tmp_path):
    """`python -m tsmask_qgis.cli demo` writes every output from the bundled sample."""
    out = tmp_path / "demo"
    r = _cli("demo", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert str(out.resolve()) in r.stdout and "CC BY 4.0" in r.stdout
    assert "tsmask demo: preset dea" in r.stdout  # the default preset
    closing = r.stdout.strip().splitlines()[-1]
    assert "docs/accuracy.md" in closing and "--preset seed" in closing
    assert "2016-01-01" in r.stdout
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for name in (
        "tsmask.nc",
        "tsmask_multiband.tif",
        "tsmask_multiband.qml",
        "tsmask_envi.img",
        "tsmask_envi.hdr",
        "tsmask.qml",
        "clear_count.tif",
        "summary.csv",
        "summary.json",
        "chart.png",
        "cog/tsmask_2016-01-01.tif",
        "cog/tsmask_2016-01-01.qml",
        "truecolour/truecolour_2016-01-01.tif",
        "tsmask-manifest.json",
    ):
        assert name in names, name
    assert len([n for n in names if n.startswith("cog/") and n.endswith(".tif")]) == 30
    assert len([n for n in names if n.startswith("truecolour/")]) == 30
    assert any(n.startswith("quicklooks/quicklook_") for n in names)
    assert not any(".tsmask-tmp" in n for n in names)
    with rasterio.open(out / "tsmask_multiband.tif") as ds:
        assert ds.count == 30 and ds.crs.to_epsg() == 32755 and ds.res == (10.0, 10.0)
        multi = ds.read()
    import netCDF4

    with netCDF4.Dataset(out / "tsmask.nc") as nc:
        assert "approximate" in nc.comment and "CC BY 4.0" in nc.credits
        v = nc["tsmask"]
        v.set_auto_mask(False)
        np.testing.assert_array_equal(v[:], multi)
    assert set(np.unique(multi)) <= {1, 2, 3}  # the sample has no nodata
    # a re-run of the same demo reuses everything
    r2 = _cli("demo", "--out", str(out))
    assert r2.returncode == 0 and "complete from an earlier run" in r2.stdout


def test_field_hints_cover_every_field_errors_use():
    """Every field an error can name has a pointer to its option: the fields of the
    request and the job, and every ``field="..."`` the package raises with."""
    import dataclasses
    import re

    from tsmask_qgis.cli import FIELD_HINTS
    from tsmask_qgis.loaders import Request
    from tsmask_qgis.pipeline import Job

    fields = {f.name for cls in (Request, Job) for f in dataclasses.fields(cls)} - {"meta"}
    for path in (ROOT / "tsmask_qgis").rglob("*.py"):
        if "plugin" not in path.parts:  # the dialog's own fields are the plugin's
            fields |= set(re.findall(r"""field=["']([a-z_]+)["']""", path.read_text()))
    assert fields - set(FIELD_HINTS) == set()
    assert all(hint.startswith(("see --", "use --")) for hint in FIELD_HINTS.values())


BAD_REQUESTS = [
    ["--crs", "EPSG:bogus"],
    ["--end", "2015-12-01"],
    ["--source", "custom"],
    ["--band", "foo=B1"],
    ["--band", "noequals"],
    ["--resolution", "-1"],
    ["--cloud-cover", "200"],
    ["--bbox", "149.1", "-35.4", "149.0", "-35.3"],
]
AREA = [
    "--bbox",
    "149.0",
    "-35.4",
    "149.1",
    "-35.3",
    "--start",
    "2016-01-01",
    "--end",
    "2016-03-01",
]


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=lambda b: " ".join(b))
def test_run_and_estimate_exit_2_for_the_same_bad_argument(bad, tmp_path, capsys):
    run_code = main(["run", *AREA, *bad, "--out", str(tmp_path / "o")])
    run_err = capsys.readouterr().err
    estimate_code = main(["estimate", *AREA, *bad])
    estimate_err = capsys.readouterr().err
    assert run_code == estimate_code == 2
    assert run_err == estimate_err and len(run_err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_plain_value_error_of_the_request_is_a_usage_error_in_both(monkeypatch, tmp_path):
    from tsmask_qgis import loaders

    def refuses(*args, **kwargs):
        raise ValueError("not a request this library accepts")

    monkeypatch.setattr(loaders, "Request", refuses)
    assert main(["run", *AREA, "--out", str(tmp_path / "o")]) == 2
    assert main(["estimate", *AREA]) == 2


def test_job_errors_name_options_not_python_words(tmp_path, capsys):
    stack = _small_stack(tmp_path / "stack.nc", t=2)
    args = ["run", "--input", str(stack), "--with-reference", "scl", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "(see --with-reference)" in err and "request" not in err and "input" not in err
