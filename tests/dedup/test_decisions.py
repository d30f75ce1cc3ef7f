"""Decisions of the worker: PRR for new persons, DUPLICATE for a person recorded twice,
ENROLL_FAILURE for an unreadable or unusable capture; exactly one decision per recording."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.abis.gallery.store import encode_templates
from ektp.abis.types import BiometricSample
from ektp.dedup.matcher import TOP_K, DedupMatcher, default_calibration
from ektp.dedup.worker import Worker
from ektp.models.dedup import DedupDecision, DedupJob
from ektp.models.enrollment import CaptureFormat, EnrollmentStatusChange
from tests.dedup.conftest import population, record, second_capture, thresholds


def _decision(session: Session, enrollment_id: int) -> DedupDecision:
    return session.scalars(select(DedupDecision).where(DedupDecision.enrollment_id == enrollment_id)).one()


class TestDecisions:
    def test_new_persons_are_print_ready_and_a_second_recording_is_a_duplicate(
        self, session: Session, worker: Worker
    ) -> None:
        pop = population()
        firsts = [record(session, pop.gallery[i]) for i in range(6)]
        result = worker.run(once=True)
        assert result.outcomes == {"PRINT_READY_RECORD": 6}
        again = record(session, second_capture(2))
        worker.run(once=True)
        session.expire_all()
        assert again.status == "DUPLICATE_RECORD"
        decision = _decision(session, again.id)
        assert decision.matched_enrollment_id == firsts[2].id
        assert decision.best_score is not None
        assert decision.best_score >= decision.thresholds["upper"]
        best = decision.candidates[0]
        assert best["enrollment_id"] == firsts[2].id
        assert best["finger_scores"]
        assert best["iris_scores"]
        assert best["face_score"] is not None
        assert decision.seconds_from_capture >= 0
        for first in firsts:
            assert first.status == "PRINT_READY_RECORD"
            assert _decision(session, first.id).outcome == "PRINT_READY_RECORD"
        history = session.scalars(
            select(EnrollmentStatusChange.to_status)
            .where(EnrollmentStatusChange.enrollment_id == again.id)
            .order_by(EnrollmentStatusChange.id)
        ).all()
        assert history[-1] == "DUPLICATE_RECORD"
        assert history.count("DUPLICATE_RECORD") == 1
        assert session.scalar(select(func.count()).select_from(DedupJob).where(DedupJob.state != "DONE")) == 0

    def test_unreadable_capture_is_an_enroll_failure_naming_the_problem(
        self, session: Session, worker: Worker
    ) -> None:
        bad = record(session, payload=b"<not-cbeff")
        iso_bad = record(session, payload=b"FMR\x00 20\x00garbage", fmt=CaptureFormat.ISO_19794_2)
        worker.run(once=True)
        session.expire_all()
        assert bad.status == iso_bad.status == "ENROLL_FAILURE"
        assert "not readable" in _decision(session, bad.id).reason
        assert "not readable" in _decision(session, iso_bad.id).reason

    def test_capture_without_usable_traits_fails_the_quality_gate(
        self, session: Session, worker: Worker
    ) -> None:
        sample = population().gallery[0]
        poor = BiometricSample(fingers=dict(list(sample.fingers.items())[:2]))
        recording = record(session, poor)
        worker.run(once=True)
        session.expire_all()
        assert recording.status == "ENROLL_FAILURE"
        assert _decision(session, recording.id).reason.startswith("quality gate:")
        assert recording.biometric_ref not in worker.matcher.gallery


class TestSameBatch:
    def test_two_recordings_of_one_person_in_one_batch_meet(self, session: Session, worker: Worker) -> None:
        pop = population()
        first = record(session, pop.gallery[7])
        again = record(session, second_capture(7))
        result = worker.run_batch()
        assert result.claimed == 2
        session.expire_all()
        assert first.status == "PRINT_READY_RECORD"
        assert again.status == "DUPLICATE_RECORD"
        assert _decision(session, again.id).matched_enrollment_id == first.id
        assert first.biometric_ref in worker.matcher.gallery
        assert again.biometric_ref in worker.matcher.gallery

    def test_pending_recordings_are_searched_as_if_already_in_the_gallery(self, tmp_path: Path) -> None:
        """With a gallery larger than the K1 shortlist, the search over gallery + pending gives
        exactly what one gallery holding both gives (same hits, same scores, same order)."""
        pop = population()
        in_gallery = [(pop.reference_ids[i], pop.gallery[i]) for i in range(8, 20)]
        pending = [
            ("PENDING-7", pop.gallery[7]),
            ("PENDING-3", pop.gallery[3]),
            ("PENDING-5", pop.gallery[5]),
        ]
        opened = [
            DedupMatcher.open(
                tmp_path / name, calibration=default_calibration(), thresholds=thresholds(), candidates=4
            )
            for name in ("split", "whole")
        ]
        split, whole = opened
        try:
            split.gallery.insert_many(in_gallery)
            for ref, sample in pending:
                templates, code = split.gallery.prepare(sample)
                split._pending.append((ref, templates, code))
            whole.gallery.insert_many([*in_gallery, *pending])
            for person in (7, 3, 9, 12):
                probe = split.gallery.prepare(second_capture(person))
                got = [(h.reference_id, round(h.score, 9)) for h in split._search(*probe)]
                expected = whole.gallery.identify(probe, top_k=TOP_K, candidates=4)
                assert got == [(h.reference_id, round(h.score, 9)) for h in expected], person
            assert split._search(*split.gallery.prepare(second_capture(7)))[0].reference_id == "PENDING-7"
            assert split.flush() == 3
            assert "PENDING-3" in split.gallery
            # stored from the search's own templates: the same as encoding the sample afresh
            assert encode_templates(split.gallery.templates("PENDING-3")) == encode_templates(
                whole.gallery.templates("PENDING-3")
            )
        finally:
            for m in opened:
                m.close()


class TestDemographic:
    def test_same_biodata_without_biometric_match_goes_to_an_examiner(
        self, session: Session, worker: Worker
    ) -> None:
        import datetime as dt

        from tests.factories.population import make_resident

        pop = population()
        same = {
            "name": "SITI NURHALIZA RAHMAWATI",
            "birth_date": dt.date(1987, 3, 14),
            "birth_place": "GARUT",
        }
        first = record(session, pop.gallery[10], resident=make_resident(session, sex="P", **same))  # type: ignore[arg-type]
        worker.run(once=True)
        other = record(session, pop.gallery[11], resident=make_resident(session, sex="P", **same))  # type: ignore[arg-type]
        worker.run(once=True)
        session.expire_all()
        assert first.status == "PRINT_READY_RECORD"
        assert other.status == "ADJUDICATE_RECORD"
        decision = _decision(session, other.id)
        assert decision.matched_enrollment_id == first.id
        assert "demographic match" in decision.reason
        assert decision.demographic["strong"]["resident_id"] == first.resident_id


class TestEvidenceFloor:
    def test_recordings_without_a_trait_in_common_do_not_match(
        self, session: Session, worker: Worker
    ) -> None:
        pop = population()
        fingers_only = BiometricSample(fingers=dict(list(pop.gallery[12].fingers.items())[:5]))
        irises_only = BiometricSample(irises=pop.gallery[13].irises)
        first = record(session, fingers_only)
        second = record(session, irises_only)
        worker.run(once=True)
        session.expire_all()
        assert first.status == "PRINT_READY_RECORD"
        assert second.status == "PRINT_READY_RECORD"
        decision = _decision(session, second.id)
        assert decision.candidates == []
        assert decision.thresholds["upper"] >= decision.thresholds["floors"]["upper"]
