"""Loading at network speed: the project's STAC load against one odc-stac call, and the
end-to-end job (``make bench``; prints, asserts nothing).

The project's test STAC API (``tests/stac_server.py``: rustac behind the front that
serves the COGs with HTTP ranges) serves a Canberra-size catalogue written here: one
Sentinel-2 C1 L2A item per date (processing baseline 05.09, DN = 10000 x reflectance +
1000, nodata 0), six band COGs per item on the request's own 20 m grid, DEFLATE with
512 px internal tiles, pixels from the project's generator
(:func:`tsmask_qgis.evaluate.make_scene`). The front waits a fixed time before each
answer for a file (0, 50, 150 ms) to stand for a distant object store.

For each delay, alternating, each in a fresh process and the same items:

- ``loaders.load(request, items=...)`` into an empty cache (the default path);
- one ``odc.stac.load(items, groupby="solar_day", pool=16)`` (cloud defaults), its DNs
  harmonised the same way afterwards to check that both give the same cube;

with the requests each made (the front's log) and the latency floor (requests x delay
/ reads in flight). At 50 ms, the GDAL settings (``loaders._network.GDAL_HTTP`` and the
two it leaves at GDAL's defaults) are each flipped in turn to measure what each does; and the whole job
(search, load, detection, written masks; ``pipeline.run``) against the load alone
(search included). Targets: load <= 0.5x odc-stac at 50 and 150 ms, <= 1.0x at 0 ms;
end-to-end <= 1.3x the load.

    python bench/loading.py            # 124 dates (about 4 minutes)
    python bench/loading.py --quick    # 40 dates, no settings table
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The original notebook's Canberra request (W, S, E, N).
CANBERRA = (149.055, -35.344, 149.155, -35.244)
COLLECTION = "bench-s2-c1-l2a"
ASSETS = ("blue", "green", "red", "nir08", "swir16", "swir22")
ODC_POOL = 16
TARGETS = {0: 1.0, 50: 0.5, 150: 0.5}
E2E_TARGET = 1.3
#: Each GDAL setting flipped in turn against ``loaders._network.GDAL_HTTP``.
VARIANTS = {
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "NO",
    "GDAL_HTTP_MULTIPLEX": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "FALSE",
    "VSI_CACHE": "TRUE",
}


def _request(url: str, dates: int) -> Any:
    import datetime as dt

    from tsmask_qgis.loaders import Request

    start = dt.date(2022, 3, 1)
    return Request(
        CANBERRA,
        start,
        start + dt.timedelta(days=5 * dates - 1),
        source="custom",
        stac_url=url,
        collections=(COLLECTION,),
    )


# --------------------------------------------------------------------------- the catalogue


def build(root: Path, url: str, dates: int) -> list[dict[str, Any]]:
    """Write the COGs under ``root``; the STAC collection and items pointing at ``url``."""
    import datetime as dt

    from tests.catalogue import write_cog
    from tsmask_qgis.bands import BANDS
    from tsmask_qgis.evaluate import make_scene

    gbox = _request(url, dates).geobox()
    ny, nx = gbox.shape.y, gbox.shape.x
    epsg = gbox.crs.epsg
    scene = make_scene(shape=(dates, ny, nx), seed=0, dtype="int16").ds
    items = []
    for k in range(dates):
        when = dt.datetime(2022, 3, 1, 0, 5, tzinfo=dt.timezone.utc) + dt.timedelta(days=5 * k)
        iid = f"S2A_55HFA_{when:%Y%m%d}_0_L2A"
        assets = {}
        for band, key in zip(BANDS, ASSETS, strict=True):
            v = scene[band].values[k].astype(np.int32)
            dn = np.where(v == -999, 0, np.clip(v, 0, 64535) + 1000).astype(np.uint16)
            rel = f"{iid}/{key}.tif"
            write_cog(root / rel, dn, epsg, gbox.transform, 0, blocksize=512, compress="DEFLATE")
            assets[key] = {
                "href": f"{url}/files/{rel}",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data", "reflectance"],
                "proj:shape": [ny, nx],
                "proj:transform": list(gbox.transform)[:6],
                "raster:bands": [
                    {"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}
                ],
            }
        w, s, e, n = CANBERRA
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
                ],
                "id": iid,
                "collection": COLLECTION,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
                },
                "bbox": [w, s, e, n],
                "properties": {
                    "datetime": when.isoformat().replace("+00:00", "Z"),
                    "platform": "sentinel-2a",
                    "constellation": "sentinel-2",
                    "proj:epsg": epsg,
                    "s2:processing_baseline": "05.09",
                },
                "links": [],
                "assets": assets,
            }
        )
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION,
        "description": "tsmask loading bench",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[140.0, -40.0, 155.0, -30.0]]},
            "temporal": {"interval": [["2015-06-23T00:00:00Z", None]]},
        },
        "links": [],
    }
    return [collection, *items]


# --------------------------------------------------------------------------- children


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def child_load(url: str, dates: int, concurrency: int, gdal: dict[str, str]) -> dict:
    """The project's load into an empty cache (search timed apart)."""
    import odc.stac  # noqa: F401  # imported before the clock starts, as for odc-stac

    from tsmask_qgis import loaders
    from tsmask_qgis.loaders import _network

    for k, v in gdal.items():
        _network.GDAL_HTTP[k] = v
    net = loaders.NETWORK.with_concurrency(concurrency)
    req = _request(url, dates)
    t0 = time.perf_counter()
    items = loaders.search(req, network=net)
    t1 = time.perf_counter()
    ds = loaders.load(req, items=items, network=net)
    t2 = time.perf_counter()
    digest = _digest([ds[b].values for b in loaders.BANDS])
    return {"search": t1 - t0, "load": t2 - t1, "digest": digest, "items": len(items)}


def child_odc(url: str, dates: int) -> dict:
    """One odc.stac.load call with groupby="solar_day", pool=16, on the same items."""
    import odc.stac

    from tsmask_qgis import loaders

    req = _request(url, dates)
    items = loaders.search(req)
    odc.stac.configure_rio(cloud_defaults=True)
    t0 = time.perf_counter()
    ds = odc.stac.load(
        items,
        bands=list(ASSETS),
        geobox=req.geobox(),
        groupby="solar_day",
        pool=ODC_POOL,
        resampling="nearest",
        chunks=None,
    )
    took = time.perf_counter() - t0
    refl = []
    for a in ASSETS:  # the loaders' harmonisation: float32(DN - 1000) / 10000, 0 = nodata
        dn = ds[a].values
        r = (dn.astype(np.float32) + np.float32(-1000)) / np.float32(10000)
        refl.append(np.where(dn == 0, np.float32(np.nan), r))
    return {"load": took, "digest": _digest(refl)}


def child_job(url: str, dates: int, out: str) -> dict:
    """The whole job: search, load, detection, written masks (pipeline.run)."""
    from tsmask_qgis.pipeline import Job, run

    t0 = time.perf_counter()
    result = run(Job(out=Path(out), request=_request(url, dates)))
    return {"job": time.perf_counter() - t0, "files": len(result.paths)}


def _child(args: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the run


class Bench:
    def __init__(self, server: Any, dates: int, concurrency: int, tmp: Path) -> None:
        self.server = server
        self.dates = dates
        self.concurrency = concurrency
        self.tmp = tmp
        self.n = 0

    def _fresh(self) -> dict[str, str]:
        self.n += 1
        return {"TSMASK_CACHE_DIR": str(self.tmp / f"cache-{self.n}")}

    def run(self, kind: str, *extra: str) -> dict:
        self.server.clear_log()
        env = self._fresh()
        res = _child([kind, self.server.url, str(self.dates), *extra], env)
        res["requests"] = len(self.server.request_log("/files/*"))
        return res

    def ours(self, gdal: dict[str, str] | None = None) -> dict:
        spec = ",".join(f"{k}={v}" for k, v in (gdal or {}).items())
        return self.run("load", str(self.concurrency), spec)

    def odc(self) -> dict:
        return self.run("odc")

    def job(self) -> dict:
        self.n += 1
        return self.run("job", str(self.tmp / f"out-{self.n}"))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 dates, no settings table")
    ap.add_argument("--dates", type=int, help="dates in the catalogue (default 124)")
    ap.add_argument("--delays", default="0,50,150", help="ms per file request (0,50,150)")
    ap.add_argument("--concurrency", type=int, default=None, help="reads at once (default)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, url, dates, *rest = args.child
        if kind == "load":
            spec = rest[1] if len(rest) > 1 else ""
            gdal = dict(p.split("=", 1) for p in spec.split(",") if p)
            res = child_load(url, int(dates), int(rest[0]), gdal)
        elif kind == "odc":
            res = child_odc(url, int(dates))
        else:
            res = child_job(url, int(dates), rest[0])
        print(json.dumps(res))
        return 0

    from tests.stac_server import StacServer, free_port
    from tsmask_qgis.loaders import NETWORK

    dates = args.dates or (40 if args.quick else 124)
    delays = [int(d) for d in args.delays.split(",") if d.strip()]
    concurrency = args.concurrency or NETWORK.concurrency
    print(f"tsmask loading bench: {os.cpu_count()} CPUs, load average {_load()}", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tsmask-bench-loading-") as tmpname:
        tmp = Path(tmpname)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        docs = build(tmp / "files", url, dates)
        shape = _request(url, dates).geobox().shape
        print(
            f"catalogue: {dates} dates x 6 bands, {shape.x} x {shape.y} px, DEFLATE COGs "
            f"with 512 px tiles, written in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        with StacServer(tmp / "files", docs, port=port) as server:
            bench = Bench(server, dates, concurrency, tmp)
            bench.ours()  # warm the page cache and GDAL's shared libraries; not counted
            rows = []
            for d in delays:
                with server.fault("/files/*", delay=d / 1000):
                    ours, odc = bench.ours(), bench.odc()
                rows.append((d, ours, odc))
                print(f"  {d} ms: measured", flush=True)
            settings = []
            e2e = None
            with server.fault("/files/*", delay=0.05):
                if not args.quick:
                    base = bench.ours()
                    for k, v in VARIANTS.items():
                        settings.append((k, v, bench.ours({k: v})))
                    print("  settings: measured", flush=True)
                else:
                    base = None
                alone = bench.ours()
                job = bench.job()
                e2e = (alone, job)
                print("  end-to-end: measured", flush=True)

    print(
        f"\nload of {dates} dates x 6 bands ({dates * 6} COGs): the project's loaders "
        f"({concurrency} reads at once) vs one odc.stac.load(groupby='solar_day', "
        f"pool={ODC_POOL}), each in a fresh process, same items, same run"
    )
    head = (
        f"{'delay':>6} {'loaders':>8} {'odc-stac':>9} {'ratio':>6} {'target':>7}  "
        f"{'requests':>8} {'odc req':>7}  {'floor':>6} {'odc floor':>9}  same cube"
    )
    print(head)
    for d, ours, odc in rows:
        ratio = ours["load"] / odc["load"]
        target = TARGETS.get(d)
        ok = "" if target is None else ("ok" if ratio <= target else "MISSED")
        floor = ours["requests"] * d / 1000 / concurrency
        ofloor = odc["requests"] * d / 1000 / ODC_POOL
        same = "yes" if ours["digest"] == odc["digest"] else "NO"
        print(
            f"{d:>4}ms {ours['load']:>7.2f}s {odc['load']:>8.2f}s {ratio:>5.2f}x "
            f"{'<=' + format(target, '.1f') + 'x' if target else '':>7} {ok:<6}"
            f"{ours['requests']:>6} {odc['requests']:>7}  {floor:>5.2f}s {ofloor:>8.2f}s  {same}"
        )
    if base is not None:
        print("\nGDAL settings at 50 ms, each flipped in turn (loaders' load alone):")
        print(
            f"  {'all of loaders._network.GDAL_HTTP':<44} {base['load']:>6.2f}s "
            f"{base['requests']:>6} requests"
        )
        for k, v, res in settings:
            print(
                f"  {k + '=' + v:<44} {res['load']:>6.2f}s {res['requests']:>6} requests "
                f"({res['load'] / base['load']:.2f}x)"
            )
    if e2e is not None:
        alone, job = e2e
        load_s = alone["search"] + alone["load"]
        ratio = job["job"] / load_s
        ok = "ok" if ratio <= E2E_TARGET else "MISSED"
        print(
            f"\nend-to-end at 50 ms (search to {job['files']} written files, pipeline.run): "
            f"{job['job']:.2f} s; search + load alone {load_s:.2f} s: {ratio:.2f}x "
            f"(target <= {E2E_TARGET}x) {ok}"
        )
    print(f"\nbench took {time.perf_counter() - started:.0f} s; load average {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
