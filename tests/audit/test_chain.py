"""The pure hash-chain functions: canonical JSON and row hashes."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp.audit.chain import CONTENT_FIELDS, canonical_json, row_hash, to_jsonable
from ektp.models.audit import GENESIS_HASH


class Colour(enum.Enum):
    RED = "red"


def _content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "id": 1,
        "recorded_at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        "actor_user_id": 7,
        "actor_username": "siti",
        "actor_role": "regional_operator",
        "actor_region": "32.04",
        "action": "resident.create",
        "entity_type": "resident",
        "entity_id": "3204014101900001",
        "before_json": None,
        "after_json": '{"name":"Siti"}',
        "request_id": None,
    }
    content.update(overrides)
    return content


class TestCanonicalJson:
    def test_sorted_keys_no_spaces_unicode_kept(self) -> None:
        assert canonical_json({"b": 1, "a": "Ñusa Tenggara"}) == '{"a":"Ñusa Tenggara","b":1}'

    def test_types_json_lacks_have_one_spelling(self) -> None:
        value = {
            "date": dt.date(2017, 12, 31),
            "when": dt.datetime(2017, 12, 31, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))),
            "amount": Decimal("1234.50"),
            "colour": Colour.RED,
            "tags": {"b", "a"},
        }
        assert json.loads(canonical_json(value)) == {
            "date": "2017-12-31",
            "when": "2017-12-31T10:00:00.000000+00:00",
            "amount": "1234.50",
            "colour": "red",
            "tags": ["a", "b"],
        }

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            to_jsonable(dt.datetime(2017, 1, 1))

    def test_unknown_types_are_refused(self) -> None:
        with pytest.raises(TypeError, match="object"):
            to_jsonable(object())

    @given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
    def test_key_order_does_not_matter(self, value: dict[str, Any]) -> None:
        assert canonical_json(dict(reversed(list(value.items())))) == canonical_json(value)


class TestRowHash:
    def test_is_sha256_hex(self) -> None:
        digest = row_hash(GENESIS_HASH, _content())
        assert len(digest) == 64
        assert int(digest, 16) >= 0

    def test_depends_on_the_previous_hash(self) -> None:
        assert row_hash(GENESIS_HASH, _content()) != row_hash("1" * 64, _content())

    def test_refuses_incomplete_content(self) -> None:
        content = _content()
        del content["request_id"]
        with pytest.raises(ValueError, match="request_id"):
            row_hash(GENESIS_HASH, content)

    @given(field=st.sampled_from(CONTENT_FIELDS), replacement=st.text(min_size=1, max_size=8) | st.integers())
    def test_changing_any_field_changes_the_hash(self, field: str, replacement: Any) -> None:
        original = _content()
        if original[field] == replacement:
            return
        assert row_hash(GENESIS_HASH, _content(**{field: replacement})) != row_hash(GENESIS_HASH, original)
