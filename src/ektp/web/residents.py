"""Resident screens: search, view, register, and the life events (marriage, divorce, death, move,
birth). Everything goes through the population services with the logged-in principal, so the
region scope is the services' own: an operator of 32.04 finds only residents of Kabupaten
Bandung, and opening another region's resident shows the 403 page.

A form that a service refuses is shown again with the values entered and each problem next to
its field (``ValidationFailed.problems`` are named by field; the form fields carry the same
names as the schemas). The request's transaction is rolled back first, so nothing of a refused
form is kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from ektp.auth.permissions import Permission, Principal
from ektp.kit.errors import Conflict, DomainError, FieldProblem, InvalidState, NotFound, ValidationFailed
from ektp.kit.pagination import PageParams
from ektp.models.population import Family, Resident
from ektp.population import events as life
from ektp.population import families, schemas
from ektp.population import service as population
from ektp.population.codes import (
    BloodType,
    Citizenship,
    FamilyRelation,
    LifeStatus,
    MaritalStatus,
    Religion,
)
from ektp.regions import repository as regions_repository
from ektp.web.i18n import N_
from ektp.web.labels import field_errors, label, options, problems_from_pydantic
from ektp.web.pages import NavItem
from ektp.web.region_picker import RegionPicker, build_picker
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

ModelT = TypeVar("ModelT", bound=BaseModel)

router = page_router()

nav_items = (
    NavItem(
        key="residents",
        label=N_("Residents"),
        href="/residents",
        permission=Permission.RESIDENT_READ,
        order=10,
    ),
    NavItem(
        key="resident-new",
        label=N_("Register a resident"),
        href="/residents/new",
        permission=Permission.RESIDENT_WRITE,
        order=11,
    ),
)

register_notice("created", N_("The resident has been registered."))
register_notice(
    "created_with_warnings",
    N_("The resident has been registered. Note: the region code in the NIK is unknown or retired."),
)
register_notice("event_recorded", N_("The life event has been recorded."))
register_notice("birth_recorded", N_("The birth has been registered."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_READ))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_WRITE))]
EventPage = Annotated[PageContext, Depends(page_requiring(Permission.LIFE_EVENT_WRITE))]

PAGE_SIZE = 20
SEARCH_FIELDS = ("name", "birth_date", "province", "regency", "district", "village_code")

#: Errors a form shows next to its fields; anything else is an error page.
FORM_ERRORS = (ValidationFailed, NotFound, Conflict, InvalidState)

#: The life events that have a form, with their titles (msgids).
EVENT_TITLES: dict[str, str] = {
    "marriage": N_("Record a marriage"),
    "divorce": N_("Record a divorce"),
    "death": N_("Record a death"),
    "move": N_("Record a move (pindah-datang)"),
    "birth": N_("Register a birth into this family"),
}


# --------------------------------------------------------------------------- helpers


def _principal(page: PageContext) -> Principal:
    return page.user_principal


def _refused(page: PageContext, problems: Iterable[FieldProblem]) -> dict[str, list[str]]:
    """Rolls the request's transaction back and turns problems into field errors."""
    page.session.rollback()
    return field_errors(problems, page.gettext)


def _problems(exc: DomainError) -> list[FieldProblem]:
    return exc.problems or [FieldProblem("_form", exc.code, exc.message)]


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _parse_date(value: str, field_name: str, problems: list[FieldProblem]) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(
            FieldProblem(field_name, "date", f"{field_name} must be a date YYYY-MM-DD, got {value!r}")
        )
        return None


def _build(schema: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    return schema.model_validate(data)


def _region_names(page: PageContext, codes: Iterable[str | None]) -> dict[str, str]:
    wanted = [code for code in codes if code]
    return {code: region.name for code, region in regions_repository.get_many(page.session, wanted).items()}


def _code_choices(page: PageContext, kind: str, codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    return [(code, page.gettext(msgid)) for code, msgid in options(kind, codes)]


# --------------------------------------------------------------------------- search


@router.get("/residents")
def search(page: ReadPage) -> Response:
    principal = _principal(page)
    query = page.request.query_params
    values = {name: query.get(name, "").strip()[:200] for name in SEARCH_FIELDS}
    picker = build_picker(page.session, principal, values)
    searched = "search" in query or "page" in query or any(values.values())
    problems: list[FieldProblem] = []
    result = None
    if searched:
        birth_date = _parse_date(values["birth_date"], "birth_date", problems)
        page_number = query.get("page", "1")
        if not page_number.isdigit() or not 1 <= int(page_number) <= 1_000_000:
            problems.append(FieldProblem("page", "range", "page must be a whole number from 1"))
        if not problems:
            region = picker.chosen if picker.chosen != principal.region_code else None
            try:
                result = population.search_residents(
                    page.session,
                    actor=principal,
                    name=values["name"] or None,
                    birth_date=birth_date,
                    region_code=region,
                    page=PageParams(page=int(page_number), size=PAGE_SIZE),
                )
            except ValidationFailed as exc:
                problems.extend(_problems(exc))
    errors = _refused(page, problems) if problems else {}
    villages = _region_names(page, (item.village_code for item in result.items)) if result else {}
    kept = {name: value for name, value in values.items() if value}
    kept["search"] = "1"
    return page.render(
        "residents/search.html",
        status_code=422 if errors else 200,
        section="residents",
        values=values,
        errors=errors,
        picker=picker,
        result=result,
        villages=villages,
        base_query=urlencode(kept),
        label=label,
    )


# --------------------------------------------------------------------------- register


CREATE_DEFAULTS = {
    "citizenship": Citizenship.WNI.value,
    "marital_status": MaritalStatus.BELUM_KAWIN.value,
    "blood_type": BloodType.UNKNOWN.value,
}


def _render_create(
    page: PageContext, values: Mapping[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    principal = _principal(page)
    return page.render(
        "residents/create.html",
        status_code=status_code,
        section="resident-new",
        values=values,
        errors=errors,
        picker=build_picker(page.session, principal, values),
        may_backdate=principal.region_code is None,
        sexes=_code_choices(page, "sex"),
        religions=_code_choices(page, "religion", [r.value for r in Religion]),
        marital_statuses=_code_choices(page, "marital_status", [m.value for m in MaritalStatus]),
        blood_types=_code_choices(page, "blood_type", [b.value for b in BloodType]),
        citizenships=_code_choices(page, "citizenship", [c.value for c in Citizenship]),
    )


@router.get("/residents/new")
def create_form(page: WritePage) -> Response:
    return _render_create(page, dict(CREATE_DEFAULTS), {})


CREATE_FIELDS = (
    "nik",
    "full_name",
    "birth_place",
    "birth_date",
    "sex",
    "religion",
    "marital_status",
    "blood_type",
    "occupation",
    "citizenship",
    "permit_expiry",
    "street",
    "rt",
    "rw",
    "recorded_on",
)


@router.post("/residents/new")
def create_submit(page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    principal = _principal(page)
    values = {
        name: form.get(name, "").strip()
        for name in (*CREATE_FIELDS, "province", "regency", "district", "village_code")
    }
    if "refresh" in form:
        return _render_create(page, values, {})
    picker = build_picker(page.session, principal, values)
    data: dict[str, Any] = {
        name: values[name] for name in CREATE_FIELDS if name not in ("nik", "permit_expiry", "recorded_on")
    }
    data["nik"] = _optional(values["nik"])
    data["permit_expiry"] = _optional(values["permit_expiry"])
    if principal.region_code is None:
        data["recorded_on"] = _optional(values["recorded_on"])
    data["village_code"] = picker.village or ""
    problems: list[FieldProblem] = []
    if picker.village is None:
        problems.append(FieldProblem("village_code", "village", "choose a village"))
    try:
        request = _build(schemas.ResidentCreate, data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc))
        return _render_create(page, values, _refused(page, problems), status_code=422)
    if problems:
        return _render_create(page, values, _refused(page, problems), status_code=422)
    try:
        created = population.create_resident(page.session, data=request, actor=principal)
    except FORM_ERRORS as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _render_create(page, values, _refused(page, _problems(exc)), status_code=status)
    notice = "created_with_warnings" if created.warnings else "created"
    return RedirectResponse(f"/residents/{quote(created.resident.nik)}?notice={notice}", status_code=303)


# --------------------------------------------------------------------------- view


@router.get("/residents/{nik}")
def view(nik: str, page: ReadPage) -> Response:
    principal = _principal(page)
    resident = population.get_by_nik(page.session, nik=nik, actor=principal)
    detail = population.resident_detail(page.session, resident=resident)
    family = None
    if detail.kk_number:
        family = families.family_view(
            page.session,
            family=families.get_family(page.session, kk_number=detail.kk_number, actor=principal),
        )
    events = population.life_events(page.session, resident=resident, actor=principal)
    needs = population.reissue_needs(page.session, resident=resident, actor=principal)
    event_rows = [(event, _event_details(event.details)) for event in events]
    region_codes: list[str | None] = [
        resident.village_code,
        resident.district_code,
        resident.regency_code,
        resident.province_code,
    ]
    for _, details in event_rows:
        region_codes.extend(str(value) for key, value in details if key.endswith("village_code"))
    can_record = principal.can(Permission.LIFE_EVENT_WRITE) and resident.life_status == LifeStatus.ALIVE.value
    return page.render(
        "residents/view.html",
        section="residents",
        resident=detail,
        family=family,
        event_rows=event_rows,
        needs=needs,
        regions=_region_names(page, region_codes),
        can_record=can_record,
        event_titles=EVENT_TITLES,
        has_family=family is not None,
        label=label,
    )


def _event_details(raw: str) -> list[tuple[str, object]]:
    try:
        details = json.loads(raw or "{}")
    except ValueError:
        return [("details", raw)]
    if not isinstance(details, dict):
        return [("details", details)]
    return list(details.items())


# --------------------------------------------------------------------------- life events


def _event_kind(kind: str) -> str:
    if kind not in EVENT_TITLES:
        raise NotFound(f"No life event form named {kind!r}; there are: {', '.join(EVENT_TITLES)}.")
    return kind


def _render_event(
    page: PageContext,
    resident: Resident,
    kind: str,
    values: Mapping[str, str],
    errors: dict[str, list[str]],
    status_code: int = 200,
) -> Response:
    picker: RegionPicker | None = None
    if kind == "move":
        picker = build_picker(page.session, _principal(page), values, village_field="to_village_code")
    relations = [r.value for r in FamilyRelation if r is not FamilyRelation.KEPALA_KELUARGA]
    return page.render(
        "residents/event.html",
        status_code=status_code,
        section="residents",
        kind=kind,
        title=page.gettext(EVENT_TITLES[kind]),
        resident=resident,
        values=values,
        errors=errors,
        picker=picker,
        households=_code_choices(page, "household"),
        relations=_code_choices(page, "family_relation", relations),
        sexes=_code_choices(page, "sex"),
        religions=_code_choices(page, "religion", [r.value for r in Religion]),
        blood_types=_code_choices(page, "blood_type", [b.value for b in BloodType]),
        label=label,
    )


@router.get("/residents/{nik}/events/{kind}")
def event_form(nik: str, kind: str, page: EventPage) -> Response:
    kind = _event_kind(kind)
    resident = population.get_by_nik(page.session, nik=nik, actor=_principal(page))
    values = {"date": "", "household": "JOIN_HUSBAND"}
    return _render_event(page, resident, kind, values, {})


EVENT_FIELDS = (
    "date",
    "spouse_nik",
    "household",
    "street",
    "rt",
    "rw",
    "whole_family",
    "into_kk_number",
    "relation",
    "full_name",
    "sex",
    "birth_date",
    "birth_place",
    "other_parent_nik",
    "religion",
    "blood_type",
    "province",
    "regency",
    "district",
    "to_village_code",
)


@router.post("/residents/{nik}/events/{kind}")
def event_submit(nik: str, kind: str, page: EventPage, form: FormData) -> Response:
    page.check_csrf(form)
    kind = _event_kind(kind)
    principal = _principal(page)
    resident = population.get_by_nik(page.session, nik=nik, actor=principal)
    values = {name: form.get(name, "").strip() for name in EVENT_FIELDS}
    if "refresh" in form:
        return _render_event(page, resident, kind, values, {})
    recorders: dict[str, Callable[[PageContext, Resident, dict[str, str]], str]] = {
        "marriage": _record_marriage,
        "divorce": _record_divorce,
        "death": _record_death,
        "move": _record_move,
        "birth": _record_birth,
    }
    try:
        target = recorders[kind](page, resident, values)
    except ValidationError as exc:
        return _render_event(page, resident, kind, values, _refused(page, problems_from_pydantic(exc)), 422)
    except FORM_ERRORS as exc:
        status = 409 if isinstance(exc, Conflict | InvalidState) else 422
        return _render_event(page, resident, kind, values, _refused(page, _problems(exc)), status)
    return RedirectResponse(target, status_code=303)


def _done(resident: Resident, notice: str = "event_recorded") -> str:
    return f"/residents/{quote(resident.nik)}?notice={notice}"


def _record_marriage(page: PageContext, resident: Resident, values: dict[str, str]) -> str:
    request = _build(
        schemas.MarriageRequest,
        {
            "spouse_nik": values["spouse_nik"],
            "date": values["date"],
            "household": values["household"] or "JOIN_HUSBAND",
        },
    )
    spouse = population.find_resident(page.session, nik=request.spouse_nik, field_name="spouse_nik")
    life.marriage(
        page.session,
        resident=resident,
        spouse=spouse,
        on=request.date,
        household=request.household,
        actor=_principal(page),
    )
    return _done(resident)


def _record_divorce(page: PageContext, resident: Resident, values: dict[str, str]) -> str:
    request = _build(
        schemas.DivorceRequest, {"spouse_nik": _optional(values["spouse_nik"]), "date": values["date"]}
    )
    spouse = None
    if request.spouse_nik:
        spouse = population.find_resident(page.session, nik=request.spouse_nik, field_name="spouse_nik")
    life.divorce(page.session, resident=resident, spouse=spouse, on=request.date, actor=_principal(page))
    return _done(resident)


def _record_death(page: PageContext, resident: Resident, values: dict[str, str]) -> str:
    request = _build(schemas.DeathRequest, {"date": values["date"]})
    life.death(page.session, resident=resident, on=request.date, actor=_principal(page))
    return _done(resident)


def _record_move(page: PageContext, resident: Resident, values: dict[str, str]) -> str:
    picker = build_picker(page.session, _principal(page), values, village_field="to_village_code")
    if picker.village is None:
        raise ValidationFailed(
            "Choose the destination village.",
            [FieldProblem("to_village_code", "village", "choose a village")],
        )
    request = _build(
        schemas.MoveRequest,
        {
            "to_village_code": picker.village,
            "street": values["street"],
            "rt": values["rt"],
            "rw": values["rw"],
            "date": values["date"],
            "whole_family": values["whole_family"] == "1",
            "into_kk_number": _optional(values["into_kk_number"]),
            "relation": _optional(values["relation"]),
        },
    )
    into_family: Family | None = None
    if request.into_kk_number:
        into_family = families.find_family(
            page.session, kk_number=request.into_kk_number, field_name="into_kk_number"
        )
    life.move(
        page.session,
        resident=resident,
        to_village_code=request.to_village_code,
        street=request.street,
        rt=request.rt,
        rw=request.rw,
        on=request.date,
        actor=_principal(page),
        whole_family=request.whole_family,
        into_family=into_family,
        relation=request.relation,
    )
    return _done(resident)


def _record_birth(page: PageContext, resident: Resident, values: dict[str, str]) -> str:
    principal = _principal(page)
    other_nik = _optional(values["other_parent_nik"])
    parent_field, other_field = (
        ("mother_nik", "father_nik") if resident.sex == "P" else ("father_nik", "mother_nik")
    )
    request = _build(
        schemas.BirthRequest,
        {
            "full_name": values["full_name"],
            "sex": values["sex"],
            "birth_date": values["birth_date"],
            "birth_place": values["birth_place"],
            parent_field: resident.nik,
            other_field: other_nik,
            "religion": _optional(values["religion"]),
            "blood_type": values["blood_type"] or BloodType.UNKNOWN.value,
        },
    )
    detail = population.resident_detail(page.session, resident=resident)
    if not detail.kk_number:
        raise InvalidState(
            "The resident belongs to no family card: a birth is registered into the parents' family.",
            [FieldProblem("_form", "no_family", "the resident has no family card")],
        )
    family = families.get_family(page.session, kk_number=detail.kk_number, actor=principal)
    other = None
    if other_nik:
        other = population.find_resident(page.session, nik=other_nik, field_name="other_parent_nik")
    mother, father = (resident, other) if resident.sex == "P" else (other, resident)
    try:
        outcome = life.birth(
            page.session, family=family, child=request, actor=principal, mother=mother, father=father
        )
    except FORM_ERRORS as exc:
        # The service names the parents by role; the form has one field for "the other parent".
        for problem in exc.problems:
            if problem.field == other_field:
                problem_index = exc.problems.index(problem)
                exc.problems[problem_index] = FieldProblem("other_parent_nik", problem.rule, problem.message)
        raise
    child = outcome.child
    if child is None:
        return _done(resident)
    return _done(child, "birth_recorded")
