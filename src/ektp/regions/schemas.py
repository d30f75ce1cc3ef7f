"""Pydantic schemas of the regions API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ektp.models.regions import Region
from ektp.regions.service import RegionResolution


class RegionCard(BaseModel):
    """One region as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description='Dotted Kemendagri code, e.g. "32.04.01".')
    name: str
    level: int = Field(description="1 province, 2 regency/city, 3 district, 4 village.")
    kind: str = Field(
        description="provinsi, kabupaten, kota, kecamatan, distrik, kelurahan, desa or desa_adat."
    )
    parent_code: str | None
    postal_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None = Field(description="Day the code was retired; null while in force.")
    successor_code: str | None
    is_historical: bool
    source: str

    @classmethod
    def of(cls, region: Region) -> RegionCard:
        return cls.model_validate(region)


class RegionLookup(BaseModel):
    """A code looked up: the region, whether the code is historical, and what replaced it."""

    region: RegionCard
    is_historical: bool
    inferred: bool = Field(
        description="True when the code is a district/village under a retired regency, resolved by "
        "mapping the regency prefix (an inference, not a stored record)."
    )
    successor: RegionCard | None = Field(description="The region now in force, for a historical code.")

    @classmethod
    def of(cls, resolution: RegionResolution) -> RegionLookup:
        return cls(
            region=RegionCard.of(resolution.region),
            is_historical=resolution.is_historical,
            inferred=resolution.inferred,
            successor=RegionCard.of(resolution.successor) if resolution.successor is not None else None,
        )


class RegionChildren(BaseModel):
    parent: RegionCard | None = Field(description="Null for the list of provinces.")
    items: list[RegionCard]


class RegionSearchResult(BaseModel):
    query: str
    items: list[RegionCard]
