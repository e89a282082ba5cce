"""Build the bundled demo sample tsmask_qgis/data/wright_act.nc from the shared cube.

Reads ../shared/data/wright_act/cube.npz (30 Sentinel-2A dates, 100 x 100 pixels
over Wright, ACT; see its README) and writes a NetCDF laid out like the seed
notebook's input: one int16 variable per band (reflectance x 10000) on
(time, y, x), with approximate dates and an approximate georeference, and the
credits. The sample is committed, so the product runs without ../shared.

    python scripts/build_sample.py [--cube PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer

ROOT = Path(__file__).resolve().parents[1]
_REL = Path("shared", "data", "wright_act", "cube.npz")
# ../shared beside the checkout (a worktree may sit one level deeper).
CUBE = next((p / _REL for p in ROOT.parents if (p / _REL).exists()), ROOT.parent / _REL)
OUT = ROOT / "tsmask_qgis" / "data" / "wright_act.nc"

BANDS = {  # tsmask name -> (cube key, Sentinel-2 band)
    "blue": ("blue", "B02"),
    "green": ("green", "B03"),
    "red": ("red", "B04"),
    "nir": ("nir", "B8A"),
    "swir1": ("swir1", "B11"),
    "swir2": ("swir2", "B12"),
}
CENTRE_LON, CENTRE_LAT = 149.03, -35.32  # Wright, ACT (approximate)
EPSG = 32755
PIXEL = 10.0
NODATA = -999

CREDITS = (
    "Imagery: Copernicus Sentinel data via Digital Earth Australia (CC BY 4.0). "
    "Stack from the test fixture tests/data/stack-wright.pkl.xz of "
    "daleroberts/s2cloudmask (Apache-2.0)."
)
CAVEAT = (
    "Dates and georeference are APPROXIMATE: only the date at index 6 (2016-01-01) is "
    "known; the others assume a 10-day revisit (order is chronological). The source "
    "records no georeference: the grid is placed at Wright, ACT (about 149.03 E, "
    "35.32 S) in EPSG:32755 with 10 m pixels."
)


def build(cube_path: Path, out: Path) -> Path:
    """Write the sample NetCDF from ``cube_path`` to ``out``; return ``out``."""
    cube = np.load(cube_path)
    t, h, w = cube["blue"].shape
    times = cube["time"].astype("datetime64[ns]")
    exact = cube["time_exact"].astype(bool)
    cx, cy = Transformer.from_crs(4326, EPSG, always_xy=True).transform(CENTRE_LON, CENTRE_LAT)
    x0 = round((cx - w * PIXEL / 2) / PIXEL) * PIXEL
    y0 = round((cy + h * PIXEL / 2) / PIXEL) * PIXEL
    xs = x0 + PIXEL * (np.arange(w) + 0.5)
    ys = y0 - PIXEL * (np.arange(h) + 0.5)
    crs = CRS.from_epsg(EPSG)
    gm = crs.to_cf()
    gm["crs_wkt"] = crs.to_wkt()
    gm["spatial_ref"] = crs.to_wkt()
    gm["GeoTransform"] = f"{x0} {PIXEL} 0 {y0} 0 {-PIXEL}"
    ds = xr.Dataset(
        coords={
            "time": ("time", times, {"long_name": "acquisition date (APPROXIMATE, see comment)"}),
            "y": ("y", ys, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "x": ("x", xs, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "spatial_ref": ((), np.int32(EPSG), gm),
        }
    )
    for name, (key, s2) in BANDS.items():
        data = cube[key].astype(np.int16)
        if (data == NODATA).any():
            raise ValueError(f"{key} holds the nodata value {NODATA}")
        ds[name] = (
            ("time", "y", "x"),
            data,
            {
                "long_name": f"{name} surface reflectance (Sentinel-2 {s2}, NBAR) x 10000",
                "units": "1",
                "scale": 10000,
                "nodata": NODATA,
                "grid_mapping": "spatial_ref",
            },
        )
    ds.attrs = {
        "title": "Wright, ACT: 30 Sentinel-2A surface reflectance dates (tsmask demo sample)",
        "Conventions": "CF-1.8",
        "source": "Digital Earth Australia Sentinel-2 ARD (NBAR), via daleroberts/s2cloudmask",
        "credits": CREDITS,
        "license": "imagery CC BY 4.0 (Copernicus Sentinel data via Digital Earth Australia); "
        "fixture from daleroberts/s2cloudmask, Apache-2.0",
        "comment": CAVEAT,
        "dates_approximate": "true",
        "georeference_approximate": "true",
        "exact_dates": ",".join(str(v)[:10] for v in cube["time"][exact]),
        "history": "built by scripts/build_sample.py from wright_act/cube.npz",
    }
    enc = {
        b: {"zlib": True, "complevel": 9, "shuffle": True, "chunksizes": (t, h, w)} for b in BANDS
    }
    enc["time"] = {"units": "days since 1970-01-01", "calendar": "standard", "dtype": "f8"}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    ds.to_netcdf(tmp, encoding=enc, engine="netcdf4")
    tmp.replace(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cube", type=Path, default=CUBE, help=f"shared cube (default {CUBE})")
    ap.add_argument("--out", type=Path, default=OUT, help=f"sample to write (default {OUT})")
    args = ap.parse_args()
    path = build(args.cube, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
