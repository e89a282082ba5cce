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
