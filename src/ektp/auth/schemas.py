"""Pydantic schemas of the auth API. Field constraints make malformed input a 422 that names
the field; the service checks the rules that need the database (unknown region, taken username)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ektp.auth.permissions import Role

Username = Annotated[
    str, Field(min_length=3, max_length=40, pattern=r"^[a-z0-9._-]+$", examples=["operator.bandung"])
]
UserRegionCode = Annotated[
    str,
    Field(
        pattern=r"^\d{2}(\.\d{2})?$",
        description="Province (32) or regency/city (32.04); none for central roles.",
        examples=["32.04"],
    ),
]
NewPassword = Annotated[str, Field(min_length=10, max_length=256)]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(default="api", min_length=1, max_length=100, description="Label of the new token.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime


class Me(BaseModel):
    user_id: int
    username: str
    full_name: str
    role: Role
    region_code: str | None
    locale: str
    permissions: list[str]
    auth_method: Literal["bearer", "cookie"]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    region_code: str | None
    is_active: bool
    locale: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    locked_until: dt.datetime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: NewPassword
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    region_code: UserRegionCode | None = None
    locale: Literal["id", "en"] = "id"


class UserUpdate(BaseModel):
    """Only the fields sent are changed; ``region_code: null`` explicitly removes the region."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    region_code: UserRegionCode | None = None
    is_active: bool | None = None
    locale: Literal["id", "en"] | None = None


class PasswordSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: NewPassword


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class UserFilter(BaseModel):
    role: Role | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2}){0,3}$")
