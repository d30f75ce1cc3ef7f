"""HTTP API of the population register: residents, families (KK), life events and card re-issue
needs. Thin: parse, call the service, shape the answer. Errors are domain errors (422 naming the
field and rule, 404, 403, 409) mapped by the application's handler; one transaction per request,
so a request that fails leaves nothing written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.kit.pagination import MAX_PAGE_SIZE, Page, PageParams
from ektp.population import events, families, schemas, service
from ektp.population.events import EventOutcome

router = APIRouter(tags=["residents"])

Reader = Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]
EventWriter = Annotated[Principal, Depends(require(Permission.LIFE_EVENT_WRITE))]


def _outcome(outcome: EventOutcome) -> schemas.EventOutcome:
    people = list(outcome.residents) + ([outcome.child] if outcome.child is not None else [])
    nik_of = {person.id: person.nik for person in people}
    return schemas.EventOutcome(
        events=[
            schemas.LifeEventOut(
                id=event.id,
                nik=nik_of.get(event.resident_id, ""),
                kind=event.kind,
                event_date=event.event_date,
                details=json.loads(event.details),
            )
            for event in outcome.events
        ],
        residents=[schemas.ResidentSummary.model_validate(person) for person in outcome.residents],
        kk_editions=[schemas.KkEdition.model_validate(edition) for edition in outcome.kk_editions],
        reissue_needs=[schemas.ReissueNeed.model_validate(need) for need in outcome.reissue_needs],
        child_nik=outcome.child.nik if outcome.child is not None else None,
    )


@router.post("/residents", status_code=201, response_model=schemas.ResidentCreated)
def create_resident(
    body: schemas.ResidentCreate, session: SessionDep, principal: Writer
) -> schemas.ResidentCreated:
    """Register a resident (without ``nik`` a NIK is issued in the village's district)."""
    created = service.create_resident(session, data=body, actor=principal)
    return schemas.ResidentCreated(
        resident=service.resident_detail(session, resident=created.resident),
        warnings=[schemas.Problem(**w.as_dict()) for w in created.warnings],
    )


@router.get("/residents", response_model=Page[schemas.ResidentSummary])
def search_residents(
    session: SessionDep,
    principal: Reader,
    name: Annotated[str | None, Query(max_length=100, description="Name prefix.")] = None,
    birth_date: dt.date | None = None,
    region: Annotated[str | None, Query(max_length=32, description="Region code at any level.")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Page[schemas.ResidentSummary]:
    return service.search_residents(
        session,
        actor=principal,
        name=name,
        birth_date=birth_date,
        region_code=region,
        page=PageParams(page=page, size=size),
    )


@router.get("/residents/{nik}", response_model=schemas.ResidentDetail)
def get_resident(nik: str, session: SessionDep, principal: Reader) -> schemas.ResidentDetail:
    resident = service.get_by_nik(session, nik=nik, actor=principal)
    return service.resident_detail(session, resident=resident)


@router.patch("/residents/{nik}", response_model=schemas.ResidentDetail)
def update_resident(
    nik: str, body: schemas.ResidentPatch, session: SessionDep, principal: Writer
) -> schemas.ResidentDetail:
    """Change a resident's data; ``reason`` is required and recorded."""
    resident = service.get_by_nik(session, nik=nik, actor=principal)
    changes = schemas.ResidentUpdate.model_validate(
        body.model_dump(exclude_unset=True, exclude={"reason", "version"})
    )
    service.update_resident(
        session,
        resident=resident,
        changes=changes,
        reason=body.reason,
        actor=principal,
        expected_version=body.version,
    )
    return service.resident_detail(session, resident=resident)


@router.get("/residents/{nik}/reissue-needs", response_model=list[schemas.ReissueNeed])
def resident_reissue_needs(nik: str, session: SessionDep, principal: Reader) -> list[schemas.ReissueNeed]:
    resident = service.get_by_nik(session, nik=nik, actor=principal)
    return [
        schemas.ReissueNeed.model_validate(need)
        for need in service.reissue_needs(session, resident=resident, actor=principal)
    ]


@router.get("/residents/{nik}/events", response_model=list[schemas.LifeEventOut])
def resident_events(nik: str, session: SessionDep, principal: Reader) -> list[schemas.LifeEventOut]:
    resident = service.get_by_nik(session, nik=nik, actor=principal)
    return [
        schemas.LifeEventOut(
            id=event.id,
            nik=resident.nik,
            kind=event.kind,
            event_date=event.event_date,
            details=json.loads(event.details),
        )
        for event in service.life_events(session, resident=resident, actor=principal)
    ]


@router.post("/residents/{nik}/events/marriage", status_code=201, response_model=schemas.EventOutcome)
def record_marriage(
    nik: str, body: schemas.MarriageRequest, session: SessionDep, principal: EventWriter
) -> schemas.EventOutcome:
    resident = service.find_resident(session, nik=nik)
    spouse = service.find_resident(session, nik=body.spouse_nik, field_name="spouse_nik")
    return _outcome(
        events.marriage(
            session, resident=resident, spouse=spouse, on=body.date, household=body.household, actor=principal
        )
    )


@router.post("/residents/{nik}/events/divorce", status_code=201, response_model=schemas.EventOutcome)
def record_divorce(
    nik: str, body: schemas.DivorceRequest, session: SessionDep, principal: EventWriter
) -> schemas.EventOutcome:
    resident = service.find_resident(session, nik=nik)
    spouse = (
        service.find_resident(session, nik=body.spouse_nik, field_name="spouse_nik")
        if body.spouse_nik is not None
        else None
    )
    return _outcome(events.divorce(session, resident=resident, spouse=spouse, on=body.date, actor=principal))


@router.post("/residents/{nik}/events/death", status_code=201, response_model=schemas.EventOutcome)
def record_death(
    nik: str, body: schemas.DeathRequest, session: SessionDep, principal: EventWriter
) -> schemas.EventOutcome:
    resident = service.find_resident(session, nik=nik)
    return _outcome(events.death(session, resident=resident, on=body.date, actor=principal))


@router.post("/residents/{nik}/events/move", status_code=201, response_model=schemas.EventOutcome)
def record_move(
    nik: str, body: schemas.MoveRequest, session: SessionDep, principal: EventWriter
) -> schemas.EventOutcome:
    resident = service.find_resident(session, nik=nik)
    into = (
        families.find_family(session, kk_number=body.into_kk_number, field_name="into_kk_number")
        if body.into_kk_number is not None
        else None
    )
    return _outcome(
        events.move(
            session,
            resident=resident,
            to_village_code=body.to_village_code,
            street=body.street,
            rt=body.rt,
            rw=body.rw,
            on=body.date,
            whole_family=body.whole_family,
            into_family=into,
            relation=body.relation,
            actor=principal,
        )
    )


@router.post("/families", status_code=201, response_model=schemas.Family)
def create_family(body: schemas.FamilyCreate, session: SessionDep, principal: Writer) -> schemas.Family:
    family = families.create_family(session, data=body, actor=principal)
    return families.family_view(session, family=family)


@router.get("/families/{kk_number}", response_model=schemas.Family)
def get_family(kk_number: str, session: SessionDep, principal: Reader) -> schemas.Family:
    family = families.get_family(session, kk_number=kk_number, actor=principal)
    return families.family_view(session, family=family)


@router.post("/families/{kk_number}/members", status_code=201, response_model=schemas.Family)
def add_family_member(
    kk_number: str, body: schemas.FamilyMemberIn, session: SessionDep, principal: Writer
) -> schemas.Family:
    family = families.find_family(session, kk_number=kk_number)
    resident = service.find_resident(session, nik=body.nik)
    families.add_member(session, family=family, resident=resident, relation=body.relation, actor=principal)
    return families.family_view(session, family=family)


@router.post("/families/{kk_number}/births", status_code=201, response_model=schemas.EventOutcome)
def record_birth(
    kk_number: str, body: schemas.BirthRequest, session: SessionDep, principal: EventWriter
) -> schemas.EventOutcome:
    family = families.find_family(session, kk_number=kk_number)
    mother = (
        service.find_resident(session, nik=body.mother_nik, field_name="mother_nik")
        if body.mother_nik is not None
        else None
    )
    father = (
        service.find_resident(session, nik=body.father_nik, field_name="father_nik")
        if body.father_nik is not None
        else None
    )
    return _outcome(
        events.birth(session, family=family, child=body, mother=mother, father=father, actor=principal)
    )
