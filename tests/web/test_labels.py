"""Every code of every code list has a label (their translations are checked with the catalogues
in test_i18n), and form problems become messages next to their fields."""

from __future__ import annotations

import enum

import pytest

from ektp.kit.errors import FieldProblem
from ektp.population import codes
from ektp.web import i18n
from ektp.web.labels import CODE_LABELS, field_errors, label, problems_from_pydantic

CODE_LISTS: dict[str, type[enum.StrEnum]] = {
    "sex": codes.Sex,
    "religion": codes.Religion,
    "marital_status": codes.MaritalStatus,
    "blood_type": codes.BloodType,
    "citizenship": codes.Citizenship,
    "life_status": codes.LifeStatus,
    "family_relation": codes.FamilyRelation,
    "life_event": codes.LifeEventKind,
    "reissue_reason": codes.ReissueReason,
    "reissue_status": codes.ReissueStatus,
    "kk_change": codes.KkChangeReason,
}


@pytest.mark.parametrize(("kind", "enum_type"), CODE_LISTS.items())
def test_every_code_has_a_label(kind: str, enum_type: type[enum.StrEnum]) -> None:
    assert set(CODE_LABELS[kind]) == {member.value for member in enum_type}


def test_unknown_code_falls_back_to_itself() -> None:
    assert label("sex", "X") == "X"
    assert label("no-such-list", "L") == "L"


def test_known_rules_are_translated_and_others_keep_the_service_message() -> None:
    problems = [
        FieldProblem("birth_date", "future", "birth date 2999-01-01 is in the future"),
        FieldProblem("nik", "code_zero", "NIK district code may not be 00"),
    ]
    errors = field_errors(problems, lambda msgid: i18n.gettext("id", msgid))
    assert errors == {
        "birth_date": ["Tanggal tidak boleh di masa depan."],
        "nik": ["NIK district code may not be 00"],
    }


def test_pydantic_errors_are_named_by_field() -> None:
    from pydantic import ValidationError

    from ektp.population.schemas import DeathRequest

    with pytest.raises(ValidationError) as caught:
        DeathRequest.model_validate({"date": ""})
    assert [(p.field, p.rule) for p in problems_from_pydantic(caught.value)] == [("date", "required")]
    with pytest.raises(ValidationError) as caught:
        DeathRequest.model_validate({"date": "31-12-2020"})
    assert [(p.field, p.rule) for p in problems_from_pydantic(caught.value)] == [("date", "date")]
