"""Request validation, default grid, catalogue presets."""

from __future__ import annotations

import datetime as dt

import pytest

from tsmask_qgis.errors import ParameterError
from tsmask_qgis.loaders import (
    BANDS,
    REQUEST_HELP,
    SOURCES,
    InputError,
    Request,
    get_source,
    utm_crs,
)

CANBERRA = (149.055, -35.344, 149.155, -35.244)
D = dt.date


def test_canberra_defaults():
    r = Request(CANBERRA, D(2017, 1, 1), D(2018, 12, 31))
    assert r.source == "earth-search-c1"
    assert r.resolution == 20.0
    assert r.output_crs == "EPSG:32755"
    g = r.geobox()
    assert str(g.crs) == "EPSG:32755"
    assert g.resolution.x == 20 and g.resolution.y == -20
    # snapped to whole 20 m pixels, covering the bbox
    assert g.transform.c % 20 == 0 and g.transform.f % 20 == 0
    assert 450 < g.shape.y < 600 and 400 < g.shape.x < 500
    assert hash(r) == hash(Request(CANBERRA, "2017-01-01", "2018-12-31"))


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (149.1, -35.3, "EPSG:32755"),
        (2.35, 48.85, "EPSG:32631"),
        (-180, 10, "EPSG:32601"),
        (180, -10, "EPSG:32760"),
        (0.0, 0.0, "EPSG:32631"),
    ],
)
def test_utm(lon, lat, crs):
    assert utm_crs(lon, lat) == crs


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"bbox": (1, 2, 3)}, "four"),
        ({"bbox": (150, -35, 149, -34)}, "west"),
        ({"bbox": (149, -34, 150, -35)}, "south"),
        ({"bbox": (149, -95, 150, -35)}, "latitudes"),
        ({"bbox": (149, float("nan"), 150, -35)}, "finite"),
        ({"start": D(2018, 2, 1), "end": D(2018, 1, 1)}, "before start"),
        ({"start": D(2015, 1, 1)}, "first Sentinel-2"),
        ({"end": D.today() + dt.timedelta(days=3)}, "future"),
        ({"start": "31/01/2018"}, "not a date"),
        ({"source": "nope"}, "unknown source"),
        ({"source": "custom"}, "stac_url"),
        ({"source": "custom", "stac_url": "http://x"}, "collections"),
        ({"resolution": 0}, "positive"),
        ({"crs": "EPSG:4326"}, "geographic"),
        ({"crs": "not a crs"}, "not a CRS"),
        ({"cloud_cover": 120}, "percentage"),
        ({"band_map": {"nir_wide": "B08"}}, "unknown band"),
    ],
)
def test_invalid_requests_are_clear(kw, needle):
    args = {"bbox": CANBERRA, "start": D(2018, 1, 1), "end": D(2018, 2, 1), **kw}
    with pytest.raises(ParameterError, match=needle) as err:
        Request(**args)
    assert err.value.field is not None  # each front end points at its own input for it


def test_custom_source_and_overrides():
    r = Request(
        CANBERRA,
        D(2018, 1, 1),
        D(2018, 2, 1),
        source="custom",
        stac_url="http://127.0.0.1:1/",
        collections="mine",
        band_map={"nir": "B08", "scl": "classes"},
    )
    src = r.get_source()
    assert src.stac_url == "http://127.0.0.1:1/"
    assert src.collections == ("mine",)
    assert src.bands["nir"] == "B08" and src.bands["blue"] == "blue"
    assert src.asset_for("scl") == "classes"
    assert r.crs is None and r.output_crs == "EPSG:32755"
    assert Request(CANBERRA, D(2018, 1, 1), D(2018, 2, 1), crs=32756).crs == "EPSG:32756"


def test_cloud_cover_help_says_why_off():
    assert "cloudy dates too" in REQUEST_HELP["cloud_cover"]
    assert Request(CANBERRA, D(2018, 1, 1), D(2018, 2, 1)).cloud_cover is None


def test_presets_band_maps_follow_algorithm_md():
    expect = {
        "earth-search-c1": ("blue", "green", "red", "nir08", "swir16", "swir22"),
        "earth-search": ("blue", "green", "red", "nir08", "swir16", "swir22"),
        "planetary-computer": ("B02", "B03", "B04", "B8A", "B11", "B12"),
        "dea": (
            "nbart_blue",
            "nbart_green",
            "nbart_red",
            "nbart_nir_2",
            "nbart_swir_2",
            "nbart_swir_3",
        ),
    }
    for name, assets in expect.items():
        assert tuple(get_source(name).bands[b] for b in BANDS) == assets
    assert get_source("earth-search-c1").collections == ("sentinel-2-c1-l2a",)
    assert get_source("earth-search").collections == ("sentinel-2-l2a",)
    assert get_source("planetary-computer").sign == "planetary-computer"
    assert get_source("dea").collections == ("ga_s2am_ard_3", "ga_s2bm_ard_3", "ga_s2cm_ard_3")
    assert get_source("dea").aws_unsigned and get_source("dea").nodata == -999
    refs = {n: get_source(n).asset_for("scl") for n in expect}
    assert refs == {
        "earth-search-c1": "scl",
        "earth-search": "scl",
        "planetary-computer": "SCL",
        "dea": "oa_fmask",
    }
    assert next(iter(SOURCES)) == "earth-search-c1"
    with pytest.raises(InputError, match="not known"):
        get_source("dea").asset_for("coastal")


# -- the request without the geospatial libraries (the QGIS process) ------------------------

#: What the QGIS process must never import (docs/api.md), and what the request needs not.
HEAVY = ("numpy", "pandas", "xarray", "odc", "pyproj", "rasterio", "shapely", "dask", "numba")

_LIGHT_SCRIPT = """
import base64, ctypes, ctypes.util, pickle, sys
mode, heavy_names, url = sys.argv[1:4]
if mode == "global-proj":  # as the QGIS binary does: Debian's PROJ in the global scope
    ctypes.CDLL(ctypes.util.find_library("proj"), mode=ctypes.RTLD_GLOBAL)
from tsmask_qgis.loaders import (
    DEFAULT_SOURCE, REQUEST_HELP, SENTINEL2_START, SOURCES, NetworkOptions, Request,
    get_source, source_names, utm_crs,
)
from tsmask_qgis.errors import ParameterError
area = (149.055, -35.344, 149.155, -35.244)
made = [Request(area, "2018-01-01", "2018-02-01", source=s) for s in source_names() if s != "custom"]
made.append(Request(area, SENTINEL2_START, "2016-02-01", source="custom", stac_url=url,
                    collections="sentinel-2-c1-l2a", band_map={"nir": "B8A"}))
get_source(DEFAULT_SOURCE).asset_for("scl"), utm_crs(150, -35), NetworkOptions(timeout=3)
if mode == "global-proj":
    made.append(Request(area, "2018-01-01", "2018-02-01", crs="EPSG:4326", stac_url=url))
    try:
        Request(area, "2018-01-01", "2018-02-01", crs="  ")
    except ParameterError as exc:
        assert exc.field == "crs" and "not a CRS" in str(exc), exc
    else:
        raise AssertionError("an empty crs was accepted")
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(heavy_names.split(",")))
print("HEAVY", ",".join(heavy))
print("REQUEST", base64.b64encode(pickle.dumps(made[-1])).decode())
"""


def _light_session(mode: str, url: str = "http://127.0.0.1:9") -> tuple[list[str], Request]:
    """Run :data:`_LIGHT_SCRIPT` in a fresh interpreter: the heavy modules it imported
    and the last request it made (pickled, as the plugin sends it to its child)."""
    import base64
    import os
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", _LIGHT_SCRIPT, mode, ",".join(HEAVY), url],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=path),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    heavy = [m for m in out["HEAVY"].split(",") if m]
    return heavy, pickle.loads(base64.b64decode(out["REQUEST"]))


def test_request_and_sources_import_no_heavy_library():
    """The names the QGIS process uses import the standard library only (a fresh process)."""
    heavy, sent = _light_session("plain")
    assert heavy == []
    assert sent.source == "custom" and sent.get_source().bands["nir"] == "B8A"


def test_in_the_qgis_process_the_crs_is_checked_in_form_then_in_full_where_used(
    stac_server, cache_dir
):
    import ctypes.util

    from tsmask_qgis.loaders import estimate, load, search

    if ctypes.util.find_library("proj") is None:
        pytest.skip("no system PROJ library to put in the global symbol scope")
    heavy, sent = _light_session("global-proj", stac_server.url)
    assert heavy == []  # nothing but the standard library, even with a CRS to check
    # the request crosses to the child process as it is; there it is checked in full
    assert sent.crs == "EPSG:4326" and sent.stac_url == stac_server.url
    stac_server.clear_log()
    calls = {
        "check": sent.check,
        "geobox": sent.geobox,
        "search": lambda: search(sent),
        "load": lambda: load(sent),
        "estimate": lambda: estimate(sent),
    }
    for name, call in calls.items():
        with pytest.raises(ParameterError, match="geographic") as err:
            call()
        assert err.value.field == "crs", name
    assert stac_server.requests() == []  # refused before any network call


def test_check_gives_the_canonical_crs():
    r = Request(CANBERRA, D(2018, 1, 1), D(2018, 2, 1), crs=" epsg:32755 ")
    assert r.crs == "EPSG:32755" and r.check() is r
    named = Request(CANBERRA, D(2018, 1, 1), D(2018, 2, 1), crs="WGS 84 / UTM zone 55S")
    assert named.crs == "EPSG:32755"  # PROJ found the code


def test_the_qgis_binary_is_told_by_its_global_libraries():
    """A Python that imported qgis.core (as pytest-qgis does) keeps GDAL and PROJ local to
    it; only a program linking them itself (the QGIS desktop binary) makes them global."""
    import importlib.util
    import os
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("qgis") is None:
        pytest.skip("QGIS's Python bindings are not installed")
    root = Path(__file__).resolve().parents[2]
    script = (
        "import qgis.core; from tsmask_qgis.loaders._crs import _geo_libraries_global as g; "
        "print('GLOBAL', g())"
    )
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=path),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "GLOBAL False" in proc.stdout


def test_band_errors_point_at_the_reference_field():
    """Asking for what a source lacks, or for a reflectance band as an extra band."""
    from dataclasses import replace

    from tsmask_qgis.loaders import load

    src = replace(get_source("earth-search-c1"), reference=None)
    with pytest.raises(InputError, match="no scene-classification asset") as err:
        src.asset_for("scl")
    assert err.value.field == "reference" and "extra_bands" not in str(err.value)
    r = Request(CANBERRA, D(2018, 1, 1), D(2018, 2, 1), stac_url="http://127.0.0.1:9")
    with pytest.raises(ParameterError, match="red is loaded anyway") as err:
        load(r, extra_bands=("red", "scl"))  # refused before anything is looked up
    assert err.value.field == "reference"
