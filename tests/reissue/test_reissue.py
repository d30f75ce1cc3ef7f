"""Re-issue requests: evidence per reason, region change refused, previous card, 1:1 verification
(passed / failed / not required), cancel, and the API."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.abis.formats.cbeff import write_cbeff
from ektp.abis.types import BiometricSample
from ektp.auth.permissions import Role
from ektp.kit.errors import Conflict, InvalidState, ValidationFailed
from ektp.models.audit import AuditEntry
from ektp.models.enrollment import EnrollmentStatus as S
from ektp.models.reissue import ReissueStatus, VerificationResult
from ektp.reissue import service
from ektp.reissue.service import EvidenceItem as E
from ektp.reissue.verification import synthetic_sample
from ektp.suket import service as suket_service
from tests.factories.auth import auth_headers
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident
from tests.suket.helpers import make_card, operator, recorded_resident

NIK_KEY = 424242


@pytest.fixture(scope="module")
def samples() -> dict[str, BiometricSample | bytes]:
    """Stored capture (CBEFF) and fresh captures of the same person and of a stranger."""
    return {
        "stored": write_cbeff(synthetic_sample(NIK_KEY, 0)),
        "same": synthetic_sample(NIK_KEY, 1),
        "stranger": synthetic_sample(NIK_KEY + 1, 1),
    }


GOOD = {
    "DAMAGED": [E("DAMAGED_CARD", "3204xxxx")],
    "LOST": [E("POLICE_REPORT", "LP/123/XI/2026", issued_on=dt.date(2026, 11, 20))],
    "DATA_CHANGE": [
        E("OLD_CARD", "card"),
        E("SUPPORTING_DOCUMENT", "AKTA-1", document_kind="MARRIAGE_CERTIFICATE"),
    ],
    "MOVE": [E("OLD_CARD", "card"), E("SKPWNI", "SKPWNI/32.04/2026/77")],
}

MISSING = {
    "DAMAGED": ([], "evidence.DAMAGED_CARD"),
    "LOST": ([E("POLICE_REPORT", "LP/1")], "evidence.POLICE_REPORT"),
    "DATA_CHANGE": ([E("OLD_CARD", "card")], "evidence.SUPPORTING_DOCUMENT"),
    "MOVE": ([E("SKPWNI", "SKPWNI/1")], "evidence.OLD_CARD"),
    "SUKET": ([], "evidence.SUKET"),
}


def _carded(session: Session, payload: bytes | None = None):  # type: ignore[no-untyped-def]
    resident = make_resident(session)
    make_enrollment(session, resident, status=S.CARD_ISSUED, payload=payload)
    make_card(session, resident)
    return resident


@pytest.mark.parametrize("reason", sorted(MISSING))
def test_missing_evidence_refused_naming_the_document(session: Session, reason: str) -> None:
    actor = operator(session)
    resident = _carded(session)
    evidence, field = MISSING[reason]
    with pytest.raises(ValidationFailed) as err:
        service.create(session, resident_id=resident.id, reason=reason, evidence=evidence, actor=actor)
    assert field in [p.field for p in err.value.problems]


@pytest.mark.parametrize("reason", sorted(GOOD))
def test_complete_evidence_accepted(session: Session, reason: str) -> None:
    actor = operator(session)
    req = service.create(
        session, resident_id=_carded(session).id, reason=reason, evidence=GOOD[reason], actor=actor
    )
    assert req.status == ReissueStatus.SUBMITTED.value
    assert req.evidence[0]["kind"] == GOOD[reason][0].kind


@pytest.mark.parametrize("how", ["kind", "document_kind"])
def test_region_rename_or_split_refused(session: Session, how: str) -> None:
    actor = operator(session)
    evidence = (
        [E("OLD_CARD", "card"), E("REGION_SPLIT", "UU 1/2026")]
        if how == "kind"
        else [E("OLD_CARD", "card"), E("SUPPORTING_DOCUMENT", "UU 1/2026", document_kind="REGION_RENAMED")]
    )
    with pytest.raises(ValidationFailed, match="renamed or split"):
        service.create(
            session, resident_id=_carded(session).id, reason="DATA_CHANGE", evidence=evidence, actor=actor
        )


def test_previous_card_needed_or_legacy_recording(session: Session) -> None:
    actor = operator(session)
    never = recorded_resident(session)  # PRR, no card
    with pytest.raises(ValidationFailed, match="no card on record"):
        service.create(session, resident_id=never.id, reason="DAMAGED", evidence=GOOD["DAMAGED"], actor=actor)
    legacy = make_resident(session)
    make_enrollment(session, legacy, status=S.CARD_ISSUED)
    req = service.create(
        session, resident_id=legacy.id, reason="DAMAGED", evidence=GOOD["DAMAGED"], actor=actor
    )
    assert "predates" in req.note


def test_suket_reason_needs_the_active_suket(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    suket = suket_service.issue(session, resident_id=resident.id, actor=actor)
    with pytest.raises(ValidationFailed):
        service.create(
            session, resident_id=resident.id, reason="SUKET", evidence=[E("SUKET", "SKT/x")], actor=actor
        )
    req = service.create(
        session, resident_id=resident.id, reason="SUKET", evidence=[E("SUKET", suket.number)], actor=actor
    )
    assert req.reason == "SUKET"
    with pytest.raises(Conflict):  # one open request per resident
        service.create(
            session, resident_id=resident.id, reason="SUKET", evidence=[E("SUKET", suket.number)], actor=actor
        )


def test_disaster_victim_needs_a_note(session: Session) -> None:
    actor = operator(session)
    resident = _carded(session)
    with pytest.raises(ValidationFailed):
        service.create(
            session,
            resident_id=resident.id,
            reason="DAMAGED",
            evidence=GOOD["DAMAGED"],
            actor=actor,
            disaster_victim=True,
        )
    req = service.create(
        session,
        resident_id=resident.id,
        reason="DAMAGED",
        evidence=GOOD["DAMAGED"],
        actor=actor,
        disaster_victim=True,
        note="Banjir Bandung 2026",
    )
    assert req.disaster_victim


def test_verification_passed(session: Session, samples: dict) -> None:  # type: ignore[type-arg]
    actor = operator(session)
    resident = _carded(session, payload=samples["stored"])
    req = service.create(session, resident_id=resident.id, reason="LOST", evidence=GOOD["LOST"], actor=actor)
    assert service.needs_verification(session, req)
    with pytest.raises(ValidationFailed):  # no capture given
        service.decide(session, request_id=req.id, actor=actor)
    service.decide(session, request_id=req.id, actor=actor, fresh_sample=samples["same"])
    assert req.status == ReissueStatus.APPROVED.value
    assert req.verification == VerificationResult.PASSED.value
    assert req.verification_score is not None
    assert req.verification_score >= 12
    assert req.decided_by == actor.username


def test_verification_failed_is_refused_and_audited(session: Session, samples: dict) -> None:  # type: ignore[type-arg]
    actor = operator(session)
    resident = _carded(session, payload=samples["stored"])
    req = service.create(session, resident_id=resident.id, reason="LOST", evidence=GOOD["LOST"], actor=actor)
    service.decide(session, request_id=req.id, actor=actor, fresh_sample=samples["stranger"])
    assert req.status == ReissueStatus.REFUSED.value
    assert req.verification == VerificationResult.FAILED.value
    assert "verification failed" in (req.refusal_reason or "")
    assert session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.action == "reissue.refuse", AuditEntry.entity_id == str(req.id)
        )
    )
    with pytest.raises(InvalidState):
        service.decide(session, request_id=req.id, actor=actor, fresh_sample=samples["same"])


def test_verification_not_required_without_biometrics(session: Session) -> None:
    actor = operator(session)
    resident = _carded(session)  # recording without a stored capture
    req = service.create(
        session, resident_id=resident.id, reason="DAMAGED", evidence=GOOD["DAMAGED"], actor=actor
    )
    service.decide(session, request_id=req.id, actor=actor)
    assert req.status == ReissueStatus.APPROVED.value
    assert req.verification == VerificationResult.NOT_REQUIRED.value


def test_cancel(session: Session) -> None:
    actor = operator(session)
    req = service.create(
        session, resident_id=_carded(session).id, reason="DAMAGED", evidence=GOOD["DAMAGED"], actor=actor
    )
    service.cancel(session, request_id=req.id, reason="resident withdrew", actor=actor)
    assert req.status == ReissueStatus.CANCELLED.value
    with pytest.raises(InvalidState):
        service.cancel(session, request_id=req.id, reason="again", actor=actor)


def test_api_create_refusal_decide_with_upload(client: TestClient, session: Session, samples: dict) -> None:  # type: ignore[type-arg]
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    resident = _carded(session, payload=samples["stored"])
    session.commit()
    bad = client.post(
        "/api/v1/reissue-requests",
        json={
            "resident_id": resident.id,
            "reason": "MOVE",
            "evidence": [{"kind": "OLD_CARD", "reference": "c"}],
        },
        headers=headers,
    )
    assert bad.status_code == 422
    assert "evidence.SKPWNI" in [p["field"] for p in bad.json()["problems"]]
    made = client.post(
        "/api/v1/reissue-requests",
        json={
            "resident_id": resident.id,
            "reason": "MOVE",
            "evidence": [{"kind": "OLD_CARD", "reference": "c"}, {"kind": "SKPWNI", "reference": "SKPWNI/9"}],
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    garbage = client.post(
        f"/api/v1/reissue-requests/{rid}/decision",
        json={"capture_base64": base64.b64encode(b"<not-xml").decode()},
        headers=headers,
    )
    assert garbage.status_code == 422
    fresh = base64.b64encode(write_cbeff(samples["same"])).decode()
    done = client.post(
        f"/api/v1/reissue-requests/{rid}/decision", json={"capture_base64": fresh}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "APPROVED"
    assert done.json()["verification"] == "PASSED"
    listed = client.get("/api/v1/reissue-requests?status=APPROVED", headers=headers).json()
    assert rid in [r["id"] for r in listed]
    other = auth_headers(session, Role.REGIONAL_OPERATOR, "32.73")
    assert client.get(f"/api/v1/reissue-requests/{rid}", headers=other).status_code == 403


def test_iso_19794_2_upload_verifies_fingers_only(session: Session, samples: dict) -> None:  # type: ignore[type-arg]
    from ektp.abis.formats.iso19794_2 import minutiae_to_fmr

    actor = operator(session)
    resident = _carded(session, payload=samples["stored"])
    req = service.create(session, resident_id=resident.id, reason="LOST", evidence=GOOD["LOST"], actor=actor)
    record = minutiae_to_fmr(samples["same"].fingers, "2011")
    service.decide(session, request_id=req.id, actor=actor, capture=record)
    assert req.verification == VerificationResult.PASSED.value
