"""Summary lines for scripts/qgis-lane.sh (plain standard library: runs with any Python 3).

lane_summary.py --versions
    print "QGIS <version>, Python <version>" for the interpreter running it;
lane_summary.py --lane L --versions-line S --junit F --exit-code N --seconds T --out J
    write lane L's result to J (JSON) and print its summary line;
lane_summary.py --total J1 J2 ...
    print the lanes' totals; exit 1 unless every lane ran tests and passed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def versions() -> str:
    try:
        from qgis.core import Qgis

        qgis = Qgis.QGIS_VERSION
    except Exception as exc:  # the line still says which Python, and why QGIS is missing
        qgis = f"not importable ({type(exc).__name__})"
    return f"QGIS {qgis}, Python {platform.python_version()}"


def counts(junit: Path) -> dict[str, int] | None:
    """passed/failed/errors/skipped from a pytest --junitxml report; None when missing."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, 0))
    return {
        "passed": total["tests"] - total["failures"] - total["errors"] - total["skipped"],
        "failed": total["failures"],
        "errors": total["errors"],
        "skipped": total["skipped"],
    }


def line(result: dict) -> str:
    head = f"lane {result['lane']}: {result['versions']}: "
    c = result["counts"]
    if c is None:
        return head + f"no tests ran (set-up failed, exit code {result['exit_code']})"
    tail = f" ({result['seconds']} s)"
    if result["exit_code"] and not (c["failed"] or c["errors"]):
        tail += f", exit code {result['exit_code']}"
    return (
        head + f"{c['passed']} passed, {c['failed']} failed, {c['errors']} errors, "
        f"{c['skipped']} skipped" + tail
    )


def ok(result: dict) -> bool:
    c = result["counts"]
    return c is not None and result["exit_code"] == 0 and c["passed"] > 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", action="store_true")
    ap.add_argument("--lane")
    ap.add_argument("--versions-line", default="QGIS ?, Python ?")
    ap.add_argument("--junit", type=Path)
    ap.add_argument("--exit-code", type=int, default=0)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--total", nargs="+", type=Path)
    args = ap.parse_args(argv)
    if args.versions:
        print(versions())
        return 0
    if args.total:
        results = []
        for path in args.total:
            try:
                results.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                results.append({"lane": path.stem, "counts": None, "exit_code": -1})
        summed = {"passed": 0, "failed": 0, "errors": 0}
        for result in results:
            for key in summed:
                summed[key] += (result["counts"] or {}).get(key, 0)
        bad = [r["lane"] for r in results if not ok(r)]
        print(
            f"qgis-lanes: {summed['passed']} passed, {summed['failed'] + summed['errors']} failed"
            + (f" (lanes not passing: {', '.join(bad)})" if bad else "")
        )
        return 1 if bad else 0
    result = {
        "lane": args.lane,
        "versions": args.versions_line,
        "counts": counts(args.junit) if args.junit else None,
        "exit_code": args.exit_code,
        "seconds": args.seconds,
    }
    result["line"] = line(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(result["line"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
