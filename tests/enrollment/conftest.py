"""Shared captures of the enrollment tests: one synthetic person per test session (complete: ten
fingers, two irises, a face), as CBEFF XML and as an ISO/IEC 19794-2 record."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.abis.formats import minutiae_to_fmr, write_cbeff
from ektp.abis.types import BiometricSample, FingerPosition, Minutiae
from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.enrollment.capture import synthetic_sample, trait_problems
from ektp.models.enrollment import CaptureFormat
from tests.factories.auth import WebLogin, web_login
from tests.web.conftest import LoginAs


def _complete_sample() -> BiometricSample:
    for key in range(1, 50):
        sample = synthetic_sample(key)
        if not trait_problems(sample, CaptureFormat.CBEFF_XML):
            return sample
    raise AssertionError("no complete synthetic sample among the first keys")


@pytest.fixture(scope="session")
def sample() -> BiometricSample:
    return _complete_sample()


@pytest.fixture(scope="session")
def cbeff(sample: BiometricSample) -> bytes:
    return write_cbeff(sample)


@pytest.fixture(scope="session")
def cbeff_b64(cbeff: bytes) -> str:
    return base64.b64encode(cbeff).decode()


@pytest.fixture(scope="session")
def fmr(sample: BiometricSample) -> bytes:
    return minutiae_to_fmr(sample.fingers, "2011")


@pytest.fixture(scope="session")
def cbeff_nine_fingers(sample: BiometricSample) -> bytes:
    """The same person with the right thumb missing."""
    fingers: dict[FingerPosition, Minutiae] = {
        p: m for p, m in sample.fingers.items() if p != FingerPosition.RIGHT_THUMB
    }
    return write_cbeff(BiometricSample(fingers=fingers, irises=sample.irises, face=sample.face))


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    """As ``tests/web/conftest.py``'s: a fresh user with its session cookie on ``client``."""

    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        session.commit()
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login
