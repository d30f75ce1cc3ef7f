"""Cascading region selects (province → regency/city → district → village) that work without
JavaScript: each select lists the children of the one above; choosing and pressing "Update
choices" (or, with the small script in ``static/ektp.js``, just choosing) re-renders the form
with the next level filled in. Levels above the user's own region are fixed: an operator of 32.04
picks only a district and a village of Kabupaten Bandung."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal
from ektp.kit.errors import NotFound, ValidationFailed
from ektp.regions.service import get_region, list_children
from ektp.web.i18n import N_

#: Form field of each level (the village's is given by the form: ``village_code``, ...).
LEVEL_FIELDS: tuple[str, str, str] = ("province", "regency", "district")
LEVEL_LABELS: tuple[str, str, str, str] = (N_("Province"), N_("Regency/city"), N_("District"), N_("Village"))


@dataclass(frozen=True)
class PickerLevel:
    field: str
    #: msgid
    label: str
    #: (code, name) pairs; empty for a fixed level.
    options: list[tuple[str, str]]
    selected: str
    #: Fixed by the user's region: shown, not chosen.
    fixed_name: str | None = None


@dataclass(frozen=True)
class RegionPicker:
    levels: list[PickerLevel]
    #: The deepest region chosen (or fixed); ``None`` when nothing narrows the choice.
    chosen: str | None
    #: The village chosen, if the picker reached one.
    village: str | None
    village_field: str


def _parts(code: str) -> list[str]:
    """ "32.04.05.2001" → ["32", "32.04", "32.04.05", "32.04.05.2001"]."""
    pieces = code.split(".")
    return [".".join(pieces[: index + 1]) for index in range(len(pieces))]


def build_picker(
    session: Session,
    principal: Principal,
    values: Mapping[str, str],
    *,
    village_field: str = "village_code",
    depth: int = 4,
) -> RegionPicker:
    """The picker for ``values`` (the form's current values). A village code given alone (as
    when a form is re-shown after an error) selects its whole ancestry."""
    fields = [*LEVEL_FIELDS, village_field][:depth]
    wanted: dict[int, str] = {}
    village_value = values.get(village_field, "").strip()
    if village_value and depth == 4:
        for level, code in enumerate(_parts(village_value)):
            wanted[level] = code
    for level, field in enumerate(fields):
        value = values.get(field, "").strip()
        if value:
            wanted[level] = value

    scope = principal.region_code
    fixed = _parts(scope) if scope else []
    levels: list[PickerLevel] = []
    parent: str | None = None
    chosen: str | None = None
    for level, field in enumerate(fields):
        if level < len(fixed):
            code = fixed[level]
            levels.append(PickerLevel(field, LEVEL_LABELS[level], [], code, fixed_name=_name(session, code)))
            parent = chosen = code
            continue
        try:
            children = list_children(session, parent)
        except (NotFound, ValidationFailed):
            children = []
        options = [(region.code, region.name) for region in children]
        selected = wanted.get(level, "")
        if selected not in {code for code, _ in options}:
            selected = ""
        levels.append(PickerLevel(field, LEVEL_LABELS[level], options, selected))
        if not selected:
            break
        parent = chosen = selected
    village = chosen if chosen is not None and chosen.count(".") == 3 and depth == 4 else None
    return RegionPicker(levels=levels, chosen=chosen, village=village, village_field=village_field)


def _name(session: Session, code: str) -> str:
    try:
        return get_region(session, code).name
    except (NotFound, ValidationFailed):
        return code
