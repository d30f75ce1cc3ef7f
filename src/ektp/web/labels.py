"""Labels of the register's code lists, and of the rules a form field can break, as msgids: the
stored codes (``"L"``, ``"CERAI_HIDUP"``) are shown to people in their language.

Templates translate them with ``_(label(kind, code))``; ``tests/web/test_labels.py`` checks that
every code of every list has one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import ValidationError

from ektp.kit.errors import FieldProblem
from ektp.web.i18n import N_

CODE_LABELS: dict[str, dict[str, str]] = {
    "sex": {"L": N_("Male"), "P": N_("Female")},
    "religion": {
        "ISLAM": N_("Islam"),
        "KRISTEN": N_("Christianity (Protestant)"),
        "KATOLIK": N_("Catholicism"),
        "HINDU": N_("Hinduism"),
        "BUDDHA": N_("Buddhism"),
        "KONGHUCU": N_("Confucianism"),
        "KEPERCAYAAN": N_("Belief in One Almighty God"),
    },
    "marital_status": {
        "BELUM_KAWIN": N_("Not married"),
        "KAWIN": N_("Married"),
        "CERAI_HIDUP": N_("Divorced"),
        "CERAI_MATI": N_("Widowed"),
    },
    "blood_type": {
        **{code: code for code in ("A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")},
        "UNKNOWN": N_("Unknown"),
    },
    "citizenship": {"WNI": N_("Indonesian citizen (WNI)"), "WNA": N_("Foreign national (WNA)")},
    "life_status": {"ALIVE": N_("Alive"), "DEAD": N_("Deceased")},
    "family_relation": {
        "KEPALA_KELUARGA": N_("Head of family"),
        "ISTRI": N_("Wife"),
        "SUAMI": N_("Husband"),
        "ANAK": N_("Child"),
        "MENANTU": N_("Child-in-law"),
        "CUCU": N_("Grandchild"),
        "ORANG_TUA": N_("Parent"),
        "MERTUA": N_("Parent-in-law"),
        "FAMILI_LAIN": N_("Other relative"),
        "LAINNYA": N_("Other"),
    },
    "life_event": {
        "MARRIAGE": N_("Marriage"),
        "DIVORCE": N_("Divorce"),
        "DEATH": N_("Death"),
        "MOVE": N_("Move"),
        "BIRTH": N_("Birth"),
        "DATA_CHANGE": N_("Data change"),
    },
    "reissue_reason": {
        "DATA_CHANGE": N_("Data change"),
        "MOVE": N_("Move"),
        "DAMAGED": N_("Damaged card"),
        "LOST": N_("Lost card"),
        "SUKET": N_("Replacing a temporary certificate (suket)"),
    },
    "reissue_status": {"OPEN": N_("Open"), "CONSUMED": N_("Card printed"), "CANCELLED": N_("Cancelled")},
    "kk_change": {
        "ISSUED": N_("First issue"),
        "MOVE": N_("Move to another district"),
        "SPLIT": N_("New family card (split)"),
        "HEAD_CHANGE": N_("Change of head of family"),
        "MEMBER_CHANGE": N_("Change of members"),
        "ADDRESS_CHANGE": N_("Change of address"),
    },
    "household": {
        "JOIN_HUSBAND": N_("The wife joins the husband's family card"),
        "JOIN_WIFE": N_("The husband joins the wife's family card"),
        "NEW_FAMILY": N_("A new family card headed by the husband"),
    },
    #: Keys of a life event's details.
    "event_detail": {
        "spouse_nik": N_("Spouse's NIK"),
        "household": N_("Household"),
        "kk_number": N_("KK number"),
        "mother_nik": N_("Mother's NIK"),
        "father_nik": N_("Father's NIK"),
        "from_village_code": N_("From village"),
        "to_village_code": N_("To village"),
        "from_address": N_("Previous address"),
        "reason": N_("Reason"),
        "changes": N_("Changes"),
        "marital_status": N_("Marital status"),
        "street": N_("Street"),
        "rt": N_("RT"),
        "rw": N_("RW"),
    },
}


#: Form field → msgid of its label, in form order (the error summary names fields with these).
FIELD_LABELS: dict[str, str] = {
    "username": N_("Username"),
    "password": N_("Password"),
    "name": N_("Name"),
    "nik": N_("NIK"),
    "full_name": N_("Full name"),
    "birth_place": N_("Place of birth"),
    "birth_date": N_("Date of birth"),
    "sex": N_("Sex"),
    "blood_type": N_("Blood type"),
    "religion": N_("Religion"),
    "marital_status": N_("Marital status"),
    "occupation": N_("Occupation"),
    "citizenship": N_("Citizenship"),
    "permit_expiry": N_("Stay permit valid until"),
    "spouse_nik": N_("Spouse's NIK"),
    "household": N_("Household"),
    "other_parent_nik": N_("Other parent's NIK"),
    "province": N_("Province"),
    "regency": N_("Regency/city"),
    "district": N_("District"),
    "village_code": N_("Village"),
    "to_village_code": N_("Destination village"),
    "region": N_("Region"),
    "street": N_("Street"),
    "rt": N_("RT"),
    "rw": N_("RW"),
    "date": N_("Date"),
    "whole_family": N_("The whole family moves"),
    "into_kk_number": N_("KK number of that family"),
    "relation": N_("Relation in that family"),
    "recorded_on": N_("Recorded on"),
    "page": N_("Page"),
}


def field_label(name: str) -> str:
    """The msgid labelling form field ``name`` (the name itself when unknown)."""
    return FIELD_LABELS.get(name, name)


def ordered_errors(errors: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Errors in the order their fields appear on forms (general errors first)."""
    order = {name: index for index, name in enumerate(FIELD_LABELS)}
    return sorted(errors.items(), key=lambda item: (item[0] != "_form", order.get(item[0], len(order))))


def label(kind: str, code: object) -> str:
    """The msgid for ``code`` in list ``kind`` (the code itself when it has none)."""
    text = str(code)
    return CODE_LABELS.get(kind, {}).get(text, text)


def options(kind: str, codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(code, msgid) pairs for a select, in the list's order."""
    table = CODE_LABELS[kind]
    return [(code, table[code]) for code in (codes if codes is not None else table)]


#: Rule → msgid for problems whose generic wording is as good as the service's English one.
RULE_MESSAGES: dict[str, str] = {
    "required": N_("This field is required."),
    "missing": N_("This field is required."),
    "future": N_("The date cannot be in the future."),
    "too_early": N_("The date is too early."),
    "date": N_("Enter a valid date (year-month-day)."),
    "digits": N_("Use digits only."),
    "length": N_("The number does not have the right number of digits."),
    "pattern": N_("The format is not right."),
    "choice": N_("Choose one of the options."),
    "max_length": N_("This is too long."),
    "unique": N_("This number is already registered."),
    "exists": N_("Nothing is registered under this code or number."),
    "alive": N_("This resident is recorded as deceased."),
    "already_married": N_("This resident is already married."),
    "not_married": N_("This resident is not married."),
    "opposite_sex": N_("A marriage is recorded between a man and a woman."),
    "self": N_("A resident cannot be their own spouse."),
    "min_words": N_("Write at least two words."),
    "punctuation": N_("Use letters only, without digits, punctuation or abbreviations."),
    "outside_scope": N_("This is outside your region."),
    "required_for_wna": N_("A foreign national needs the expiry date of the stay permit."),
    "only_for_wna": N_("A citizen has no stay permit: leave this empty."),
    "birth_date_mismatch": N_("The NIK does not match the birth date."),
    "sex_mismatch": N_("The NIK does not match the sex (women have 40 added to the day)."),
    "required_one_parent": N_("Give the mother's or the father's NIK."),
    "village": N_("Choose a village."),
    "rank_range": N_("Enter a whole number from 1 to 99."),
    "quota_range": N_("Enter a whole number from 0 to 100000."),
}

#: Pydantic error types → our rule names.
_PYDANTIC_RULES: dict[str, str] = {
    "missing": "required",
    "string_too_short": "required",
    "string_too_long": "max_length",
    "string_pattern_mismatch": "pattern",
    "enum": "choice",
    "literal_error": "choice",
    "date_from_datetime_parsing": "date",
    "date_parsing": "date",
    "date_type": "date",
    "bool_parsing": "choice",
    "int_parsing": "digits",
}


def problems_from_pydantic(error: ValidationError) -> list[FieldProblem]:
    """The problems of a schema that refused a form's values, named by form field."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        field_name = location[0] if location else "_form"
        kind = str(item.get("type", "invalid"))
        rule = "required" if item.get("input") == "" else _PYDANTIC_RULES.get(kind, kind)
        problems.append(FieldProblem(field_name, rule, str(item.get("msg", "invalid"))))
    return problems


def field_errors(problems: Iterable[FieldProblem], translate: Callable[[str], str]) -> dict[str, list[str]]:
    """Field name → messages to show next to it: the translated wording of a known rule, else
    the service's own message. ``translate`` is the page's ``gettext``."""
    result: dict[str, list[str]] = {}
    for problem in problems:
        msgid = RULE_MESSAGES.get(problem.rule)
        message = translate(msgid) if msgid is not None else problem.message
        messages = result.setdefault(problem.field or "_form", [])
        if message not in messages:
            messages.append(message)
    return result
