"""The hash chain of the audit trail, as plain functions over plain data (no ORM).

``row_hash = sha256(prev_hash || canonical_json(content))`` where ``content`` holds every field
of the row except the two hashes, including ``id`` and ``recorded_at``. Canonical JSON: sorted
keys, no whitespace, UTF-8 kept as is, and deterministic spellings for the types JSON lacks
(dates and datetimes in ISO 8601, datetimes in UTC with microseconds; Decimals as strings;
enums by value; sets sorted)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: The fields of an audit row covered by its hash, in the order they are listed in documentation.
CONTENT_FIELDS = (
    "id",
    "recorded_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_region",
    "action",
    "entity_type",
    "entity_id",
    "before_json",
    "after_json",
    "request_id",
)


def to_jsonable(value: Any) -> Any:
    """``value`` with every non-JSON type replaced by its deterministic spelling."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in audit data: give it a time zone")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(
            (to_jsonable(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True)
        )
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    raise TypeError(f"cannot record a value of type {type(value).__name__} in the audit trail")


def canonical_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of one row, chained to the previous row's hash."""
    missing = set(CONTENT_FIELDS) - set(content)
    if missing:
        raise ValueError(f"audit row content lacks {sorted(missing)}")
    payload = canonical_json({name: content[name] for name in CONTENT_FIELDS})
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()
