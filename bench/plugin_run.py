"""Wall time of a plugin Run in the real QGIS desktop: first run and second run (prints only).

For each checkout given (default: this one) it starts the ``qgis`` binary
under ``xvfb-run`` with the checkout's plugin in a private plugin path and
profile, and ``bench/plugin_session.py`` presses Run twice on the bundled
sample (true colour, two workers), each into its own folder: the time from
Run to the result's layers in the project, as a user sees it. The second run
shows what the first paid for starting its child process(es) and loading the
kernels. QGIS's own start-up is not counted.

    python bench/plugin_run.py                              # this checkout
    python bench/plugin_run.py --checkout /tmp/before .     # before and after, one run
    python bench/plugin_run.py --runner processes           # the plugin's runner setting

Each checkout is installed from its ``make package`` zip into a temporary
plugin path and that copy's kernel cache is warmed first (``python -m
tsmask_qgis.engine.warm``), as ``make env`` does for a checkout: no run
compiles. Timings on a shared machine drift: compare rows of one run
(``--repeat`` interleaves the checkouts' sessions).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSION = Path(__file__).resolve().parent / "plugin_session.py"


def install(checkout: Path, folder: Path) -> Path:
    """The checkout's plugin as QGIS installs it (its ``make package`` zip, extracted into
    ``folder``), with the kernel cache of that copy warm; returns the plugin path."""
    spec = importlib.util.spec_from_file_location("package", checkout / "scripts" / "package.py")
    package = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(package)
    plugins = folder / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(package.build(folder / "tsmask_qgis.zip")) as zf:
        zf.extractall(plugins)
    env = dict(os.environ, PYTHONPATH=str(plugins))
    subprocess.run(
        [sys.executable, "-P", "-m", "tsmask_qgis.engine.warm", "-q"],
        env=env,
        check=True,
        cwd=folder,
    )
    return plugins


def measure(plugins: Path, *, runner: str = "", runs: int = 2, timeout: float = 600) -> dict:
    """One QGIS session with the plugin in ``plugins``; the session's JSON report (+ exit code)."""
    with tempfile.TemporaryDirectory(prefix="tsmask-bench-") as tmp:
        tmp_path = Path(tmp)
        report = tmp_path / "report.json"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("QT_QPA_PLATFORM", "PYTHONPATH", "PYTHONHOME")
        }
        env.update(
            QGIS_PLUGINPATH=str(plugins),
            PYTHONPATH=sysconfig.get_paths()["purelib"],
            TSMASK_PYTHON=sys.executable,
            TSMASK_BENCH_REPORT=str(report),
            TSMASK_BENCH_OUT=str(tmp_path / "out"),
            TSMASK_BENCH_RUNS=str(runs),
            TSMASK_BENCH_RUNNER=runner,
            HOME=str(tmp_path / "home"),
        )
        cmd = [
            "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
            "qgis", "--nologo", "--noversioncheck",
            "--profiles-path", str(tmp_path / "profiles"),
            "--code", str(SESSION),
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=tmp_path,  # a child started with -m puts the cwd first on sys.path
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # xvfb-run, Xvfb, qgis
            stdout, stderr = proc.communicate()
        ended = time.time()
        got = json.loads(report.read_text()) if report.exists() else {"error": "no report"}
        got["exit_code"] = proc.returncode
        if "finished" in got:
            got["exit_seconds"] = ended - got["finished"]
        if proc.returncode != 0 or got.get("error"):
            got["log"] = stdout[-1500:] + stderr[-2500:]
        return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", nargs="+", type=Path, default=[ROOT])
    parser.add_argument("--runner", default="", help="the plugin's runner setting, if it has one")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="QGIS sessions per checkout")
    args = parser.parse_args(argv)
    if not (shutil.which("qgis") and shutil.which("xvfb-run")):
        print("needs the qgis desktop binary and xvfb-run", file=sys.stderr)
        return 1
    rows = []
    work = Path(tempfile.mkdtemp(prefix="tsmask-bench-plugins-"))
    plugins = {}
    try:
        for i, checkout in enumerate(args.checkout):
            print(f"installing {checkout} and warming its kernel cache…", flush=True)
            plugins[checkout.resolve()] = install(checkout.resolve(), work / str(i))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        for _ in range(args.repeat):  # interleaved, so drift in the machine's load is shared
            for checkout, path in plugins.items():
                got = measure(path, runner=args.runner, runs=args.runs)
                rows.append((checkout, got))
                times = [r["seconds"] for r in got.get("runs", [])]
                if len(times) < args.runs or got.get("error") or got["exit_code"] != 0:
                    print(f"{checkout}: failed: {json.dumps(got, indent=1)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nplugin Run -> layers loaded, bundled sample, qgis desktop under Xvfb"
          f"{', runner ' + args.runner if args.runner else ''}")  # fmt: skip
    print(
        f"{'checkout':<40} {'first s':>8} {'second s':>9} {'2nd/1st':>8} {'exit':>5} {'exit s':>7}"
    )
    for checkout, got in rows:
        times = [r["seconds"] for r in got.get("runs", [])]
        first = times[0] if times else float("nan")
        second = times[1] if len(times) > 1 else float("nan")
        print(
            f"{str(checkout)[-40:]:<40} {first:8.2f} {second:9.2f} {second / first:8.2f} "
            f"{got['exit_code']:>5} {got.get('exit_seconds', float('nan')):7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
