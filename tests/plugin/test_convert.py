"""Qt types -> plain values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle
from qgis.PyQt.QtCore import QDate

from tsmask_qgis.plugin.convert import LOCAL, STAC, RunSettings, qdate_to_date, rect_to_wgs84

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def test_wgs84_rect_passes_through(qgis_app):
    assert rect_to_wgs84(QgsRectangle(149.055, -35.344, 149.155, -35.244), WGS84) == pytest.approx(
        (149.055, -35.344, 149.155, -35.244)
    )


def test_utm_rect_becomes_enclosing_wgs84_box(qgis_app):
    utm = QgsCoordinateReferenceSystem("EPSG:32755")
    # about 149.055..149.155 E, 35.344..35.244 S
    w, s, e, n = rect_to_wgs84(QgsRectangle(686_000, 6_086_000, 695_000, 6_097_000), utm)
    assert 149.0 < w < e < 149.2
    assert -35.40 < s < n < -35.20
    assert e - w == pytest.approx(0.1, abs=0.02)


def test_web_mercator_rect(qgis_app):
    merc = QgsCoordinateReferenceSystem("EPSG:3857")
    w, s, e, n = rect_to_wgs84(QgsRectangle(0, 0, 111_319.49, 111_325.14), merc)
    assert (w, s) == pytest.approx((0, 0), abs=1e-6)
    assert (e, n) == pytest.approx((1, 1), abs=1e-4)


@pytest.mark.parametrize("rect", [QgsRectangle(), QgsRectangle(1, 1, 1, 1)])
def test_empty_area_is_refused(qgis_app, rect):
    with pytest.raises(ValueError, match="area is empty"):
        rect_to_wgs84(rect, WGS84)


def test_qdate(qgis_app):
    assert qdate_to_date(QDate(2017, 1, 31)) == dt.date(2017, 1, 31)
    with pytest.raises(ValueError):
        qdate_to_date(QDate())


def test_settings_from_qt(qgis_app, tmp_path):
    s = RunSettings.from_qt(
        extent=QgsRectangle(149.055, -35.344, 149.155, -35.244),
        extent_crs=WGS84,
        start=QDate(2017, 1, 1),
        end=QDate(2018, 12, 31),
        out_dir=str(tmp_path),
        source="earth-search-c1",
        preset="dea",
        formats=["cog", "netcdf"],
        workers=2,
    )
    assert s.bbox == pytest.approx((149.055, -35.344, 149.155, -35.244))
    assert (s.start, s.end) == (dt.date(2017, 1, 1), dt.date(2018, 12, 31))
    assert s.out_dir == tmp_path and s.preset == "dea" and s.workers == 2
    assert "2017-01-01..2018-12-31" in s.area_name()


def test_settings_problems(qgis_app, tmp_path):
    base = RunSettings(
        bbox=(0, 0, 1, 1),
        start=dt.date(2020, 2, 1),
        end=dt.date(2020, 1, 1),
        out_dir=Path(""),
        formats=(),
    )
    problems = base.problems()
    assert set(problems) == {"dates", "out_dir", "formats"}
    stac = base.replace(
        source=STAC, stac_url="ftp://x", end=dt.date(2020, 3, 1), out_dir=tmp_path, formats=("cog",)
    )
    assert "address" in stac.problems()["source"]
    assert "collection" in stac.replace(stac_url="https://x/stac").problems()["source"]
    local = base.replace(
        source=LOCAL,
        bbox=None,
        input_path=tmp_path / "nope.nc",
        end=dt.date(2020, 3, 1),
        out_dir=tmp_path,
        formats=("cog",),
    )
    assert "does not exist" in local.problems()["source"]
    with pytest.raises(ValueError, match="end date is before"):
        RunSettings.from_qt(
            extent=QgsRectangle(0, 0, 1, 1),
            extent_crs=WGS84,
            start=QDate(2020, 2, 1),
            end=QDate(2020, 1, 1),
            out_dir=str(tmp_path),
        )
