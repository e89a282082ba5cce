"""Catalogue presets: where Sentinel-2 L2A lives and what its assets are called.

Band maps follow the Inputs table of ``algorithm.md``. Each source also names its
scene-classification asset (loaded as the extra band ``scl``) for
evaluation against the provider's own mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tsmask_qgis.loaders._errors import InputError, ParameterError

__all__ = [
    "DEFAULT_SOURCE",
    "SOURCES",
    "Source",
    "get_source",
    "source_names",
]

#: The name of the default catalogue preset.
DEFAULT_SOURCE = "earth-search-c1"


def _pairs(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in mapping.items())


@dataclass(frozen=True)
class Source:
    """One catalogue preset.

    ``band_map`` maps tsmask's band names (:data:`tsmask_qgis.bands.BANDS`) to the catalogue's asset keys.
    ``reference`` is the asset holding the provider's scene classification and
    ``reference_kind`` says which classes it uses (``"scl"`` or ``"fmask"``).

    ``offset_policy`` says how the reflectance offset of processing baseline 04.00
    is decided for this catalogue (see ``_harmonise.offset_for``):

    - ``"metadata"``: the assets' ``raster:bands`` offset/scale describe the files;
    - ``"baseline"``: the provider ships DNs as produced and declares nothing, so
      the baseline decides (-1000 DN from 04.00 on);
    - ``"verify"``: the provider's metadata is known to be wrong on some items, so
      for baseline 04.00 and later the pixels decide;
    - ``"none"``: the product is already harmonised reflectance (DEA ARD).
    """

    name: str
    title: str
    stac_url: str
    collections: tuple[str, ...]
    band_map: tuple[tuple[str, str], ...]
    reference: str | None = None
    reference_kind: str | None = None
    nodata: float = 0
    scale: float = 1e-4
    offset_policy: str = "metadata"
    sign: str | None = None
    aws_unsigned: bool = False
    aws_region: str | None = None
    cloud_cover_property: str = "eo:cloud_cover"
    description: str = ""
    extra_env: tuple[tuple[str, str], ...] = field(default=())

    @property
    def bands(self) -> dict[str, str]:
        """tsmask band name -> asset key."""
        return dict(self.band_map)

    def asset_for(self, band: str) -> str:
        """The asset key for a tsmask band name or an extra band (``"scl"``)."""
        bands = self.bands
        if band in bands:
            return bands[band]
        if band in ("scl", "fmask", "reference"):
            if self.reference is None:
                raise InputError(
                    f"source {self.name!r} has no scene-classification asset; "
                    "load without the scene classification or choose another source",
                    field="reference",
                )
            return self.reference
        raise InputError(
            f"band {band!r} is not known to source {self.name!r}; "
            f"known bands: {', '.join([*bands, 'scl'])}",
            field="reference",
        )

    def with_overrides(
        self,
        *,
        stac_url: str | None = None,
        collections: tuple[str, ...] | None = None,
        band_map: Mapping[str, str] | None = None,
    ) -> Source:
        """A copy with a custom URL, collections or band map."""
        from dataclasses import replace

        kw: dict[str, Any] = {}
        if stac_url is not None:
            kw["stac_url"] = stac_url
        if collections is not None:
            kw["collections"] = tuple(collections)
        if band_map is not None:
            kw["band_map"] = _pairs({**self.bands, **dict(band_map)})
        return replace(self, **kw)


_EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"
_ES_BANDS = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir08",
    "swir1": "swir16",
    "swir2": "swir22",
}

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="earth-search-c1",
            title="Earth Search — Sentinel-2 Collection 1 L2A",
            stac_url=_EARTH_SEARCH,
            collections=("sentinel-2-c1-l2a",),
            band_map=_pairs(_ES_BANDS),
            reference="scl",
            reference_kind="scl",
            offset_policy="metadata",
            description="Element 84's Earth Search, Collection 1 reprocessing (default). "
            "Free, no account; COGs on AWS us-west-2.",
        ),
        Source(
            name="earth-search",
            title="Earth Search — Sentinel-2 L2A (v1)",
            stac_url=_EARTH_SEARCH,
            collections=("sentinel-2-l2a",),
            band_map=_pairs(_ES_BANDS),
            reference="scl",
            reference_kind="scl",
            offset_policy="verify",
            description="Element 84's Earth Search original L2A COGs. Its offset metadata "
            "is wrong on some items, so the pixels decide for baseline 04.00 and later.",
        ),
        Source(
            name="planetary-computer",
            title="Microsoft Planetary Computer — Sentinel-2 L2A",
            stac_url="https://planetarycomputer.microsoft.com/api/stac/v1",
            collections=("sentinel-2-l2a",),
            band_map=_pairs(
                {
                    "blue": "B02",
                    "green": "B03",
                    "red": "B04",
                    "nir": "B8A",
                    "swir1": "B11",
                    "swir2": "B12",
                }
            ),
            reference="SCL",
            reference_kind="scl",
            offset_policy="baseline",
            sign="planetary-computer",
            description="Asset URLs are signed with the planetary-computer package "
            "(and re-signed when a token expires).",
        ),
        Source(
            name="dea",
            title="Digital Earth Australia — Sentinel-2 ARD (NBART)",
            stac_url="https://explorer.dea.ga.gov.au/stac",
            collections=("ga_s2am_ard_3", "ga_s2bm_ard_3", "ga_s2cm_ard_3"),
            band_map=_pairs(
                {
                    "blue": "nbart_blue",
                    "green": "nbart_green",
                    "red": "nbart_red",
                    "nir": "nbart_nir_2",
                    "swir1": "nbart_swir_2",
                    "swir2": "nbart_swir_3",
                }
            ),
            reference="oa_fmask",
            reference_kind="fmask",
            nodata=-999,
            offset_policy="none",
            aws_unsigned=True,
            aws_region="ap-southeast-2",
            description="Geoscience Australia's analysis-ready NBART reflectance "
            "(Australia only); public S3 bucket read without credentials.",
        ),
        Source(
            name="custom",
            title="Custom STAC API",
            stac_url="",
            collections=(),
            band_map=_pairs(_ES_BANDS),
            reference="scl",
            reference_kind="scl",
            offset_policy="metadata",
            description="Any STAC API: give stac_url, collections and (unless the assets "
            "are named like Earth Search's) a band map.",
        ),
    )
}


def source_names() -> list[str]:
    """The preset names, default first."""
    return list(SOURCES)


def get_source(name: str) -> Source:
    """The catalogue preset called ``name`` (see ``SOURCES``)."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ParameterError(
            f"unknown source {name!r}; choose one of: {', '.join(SOURCES)}", field="source"
        ) from None
