"""Build tsmask_qgis.zip for QGIS "Install from ZIP" (run with `make package`).

The zip holds one folder, ``tsmask_qgis/``, with the package, ``metadata.txt``,
``resources/`` (icon), ``LICENSE`` and the README, and no caches, tests, hidden or
build files. Before the zip is put in place, its contents pass the plugin repository's
blocking gate: plugins.qgis.org refuses a plugin with a Bandit or a detect-secrets
finding, so `make package` runs both on the extracted zip and fails on any finding
(a false positive is marked in the code with ``# nosec BXXX: reason``).
"""

from __future__ import annotations

import configparser
import json
import subprocess  # nosec B404: runs bandit and detect-secrets of this Python
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"__pycache__", "tests", "build", "dist"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".nbi", ".nbc", ".egg-info", ".orig", ".rej"}


def _files(base: Path):
    """Files under base, without caches (numba's .nbi/.nbc too), tests, hidden or build files."""
    for path in sorted(base.rglob("*")):
        parts = path.relative_to(base).parts
        if (
            path.is_file()
            and not SKIP_DIRS & set(parts)
            and not any(p.startswith(".") or p.endswith(".egg-info") for p in parts)
            and not parts[-1].startswith(("test_", "conftest"))
            and path.suffix not in SKIP_SUFFIXES
        ):
            yield path


def _tool(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(  # nosec B603: this Python's bandit/detect-secrets, no shell
            [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise SystemExit(f"cannot run {args[0]}: {exc}") from exc
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(
            f"{args[0]} did not run ({proc.stderr.strip()[-500:]}); it is in "
            "requirements/*.txt: run `make env`, or pip install bandit detect-secrets"
        )
    return proc.stdout


def gate(zip_path: Path) -> list[str]:
    """The plugin repository's blocking checks on the zip's contents: Bandit (every
    severity) and detect-secrets. Returns the findings, one line each; empty passes."""
    findings = []
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(top)
        report = json.loads(_tool(["bandit", "-r", "-q", "-f", "json", "."], top))
        for r in report.get("results", []):
            where = Path(r["filename"]).as_posix().removeprefix("./")
            findings.append(
                f"bandit {where}:{r['line_number']}: {r['test_id']} "
                f"{r['issue_severity']}/{r['issue_confidence']} {r['issue_text']}"
            )
        for e in report.get("errors", []):
            findings.append(f"bandit {e.get('filename')}: could not check: {e.get('reason')}")
        secrets = json.loads(_tool(["detect_secrets", "scan", "--all-files", "."], top))
        for name, items in sorted(secrets.get("results", {}).items()):
            for item in items:
                findings.append(f"detect-secrets {name}:{item['line_number']}: {item['type']}")
    return findings


def build(out: Path = ROOT / "tsmask_qgis.zip", *, check: bool = False) -> Path:
    """Write the plugin zip and return its path. With check, the zip is put in place only
    when it passes :func:`gate` (else SystemExit lists the findings)."""
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    icon = meta["general"]["icon"]
    if not (ROOT / icon).is_file():
        sys.exit(f"metadata.txt names the icon {icon}, which does not exist")
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in _files(ROOT / "tsmask_qgis"):
            rel = path.relative_to(ROOT / "tsmask_qgis")
            if rel.parts[0] in ("metadata.txt", "resources"):  # links made by install_plugin
                continue
            zf.write(path, path.relative_to(ROOT))
        for path in _files(ROOT / "resources"):
            zf.write(path, Path("tsmask_qgis") / path.relative_to(ROOT))
        for name in ("metadata.txt", "LICENSE", "README.md"):
            if (ROOT / name).is_file():
                zf.write(ROOT / name, Path("tsmask_qgis") / name)
    if check:
        findings = gate(tmp)
        if findings:
            tmp.unlink()
            raise SystemExit(
                f"{out.name}: {len(findings)} finding(s) that plugins.qgis.org blocks on:\n"
                + "\n".join(f"  {f}" for f in findings)
            )
    tmp.replace(out)
    return out


if __name__ == "__main__":
    path = build(check=True)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    print(
        f"{path} ({path.stat().st_size / 1e6:.1f} MB, {len(names)} files; Bandit and detect-secrets: clean)"
    )
