"""HTTP API of the regions domain: public reference data for every authenticated role (no region
scoping for reading them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.regions import service
from ektp.regions.schemas import RegionCard, RegionChildren, RegionLookup, RegionSearchResult

router = APIRouter(prefix="/regions", tags=["regions"])

RegionReader = Annotated[Principal, Depends(require(Permission.REGION_READ))]
IncludeHistorical = Annotated[bool, Query(description="Also list codes no longer in force.")]


@router.get("", response_model=RegionChildren, summary="The provinces")
def list_provinces(
    session: SessionDep, _: RegionReader, include_historical: IncludeHistorical = False
) -> RegionChildren:
    regions = service.list_children(session, None, include_historical=include_historical)
    return RegionChildren(parent=None, items=[RegionCard.of(region) for region in regions])


@router.get("/search", response_model=RegionSearchResult, summary="Find regions by name")
def search_regions(
    session: SessionDep,
    _: RegionReader,
    q: Annotated[
        str, Query(min_length=2, max_length=100, description="Part of the name, at least 2 characters.")
    ],
    level: Annotated[int | None, Query(ge=1, le=4, description="Only this level.")] = None,
    parent: Annotated[str | None, Query(max_length=20, description="Only inside this region.")] = None,
    limit: Annotated[int, Query(ge=1, le=service.SEARCH_MAX_LIMIT)] = 20,
    include_historical: IncludeHistorical = False,
) -> RegionSearchResult:
    regions = service.search_regions(
        session, q, level=level, parent=parent, limit=limit, include_historical=include_historical
    )
    return RegionSearchResult(query=q, items=[RegionCard.of(region) for region in regions])


@router.get("/{code}", response_model=RegionLookup, summary="Look a code up (current or historical)")
def get_region(session: SessionDep, _: RegionReader, code: str) -> RegionLookup:
    return RegionLookup.of(service.resolve_region(session, code))


@router.get("/{code}/children", response_model=RegionChildren, summary="Direct children of a region")
def list_children(
    session: SessionDep, _: RegionReader, code: str, include_historical: IncludeHistorical = False
) -> RegionChildren:
    parent = service.get_region(session, code)
    regions = service.list_children(session, parent.code, include_historical=include_historical)
    return RegionChildren(parent=RegionCard.of(parent), items=[RegionCard.of(region) for region in regions])
