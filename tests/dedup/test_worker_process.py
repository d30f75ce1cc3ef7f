"""The worker as the demo and the command line run it, on a scratch SQLite database whose
transactions really commit: the background thread decides a recording by itself and stops
cleanly; ``ektp dedup work --once`` and ``ektp dedup status`` run end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from ektp.app import create_app
from ektp.config import Settings
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.dedup.cli import app
from ektp.dedup.matcher import DedupMatcher, default_calibration
from ektp.dedup.worker import Worker, _Turnstile, start_background_worker
from ektp.models.dedup import DedupDecision, DedupJob
from ektp.models.enrollment import Enrollment
from ektp.regions.service import load_regions
from tests.dedup.conftest import population, record, second_capture, thresholds


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine, Path]]:
    root = tmp_path_factory.mktemp("dedup-scratch")
    url = f"sqlite:///{root / 'ektp.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=("32",))
    yield url, engine, root
    engine.dispose()


def _status(engine: Engine, enrollment_id: int) -> str:
    with unit_of_work(engine) as session:
        return session.scalars(select(Enrollment.status).where(Enrollment.id == enrollment_id)).one()


def test_background_worker_decides_by_itself_and_stops(scratch: tuple[str, Engine, Path]) -> None:
    url, engine, root = scratch
    settings = Settings(database_url=url, data_dir=root / "bg", secret_key="test-secret-key-0123456789abcdef")
    handle = start_background_worker(settings, idle_sleep=0.2)
    try:
        with unit_of_work(engine) as session:
            recording_id = record(session, population().gallery[0]).id
        deadline = time.monotonic() + 60
        while _status(engine, recording_id) == "SENT_FOR_ENROLLMENT" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _status(engine, recording_id) == "PRINT_READY_RECORD"
    finally:
        handle.stop()
    assert not handle.thread.is_alive()


def test_the_web_process_runs_its_worker_when_configured(scratch: tuple[str, Engine, Path]) -> None:
    """``dedup_in_process_worker`` (the demo, single-node installs): the app's lifespan starts the
    worker, which decides a recording sent while the app serves, and stops it at shutdown."""
    url, engine, root = scratch
    settings = Settings(
        database_url=url,
        data_dir=root / "web",
        secret_key="test-secret-key-0123456789abcdef",
        dedup_in_process_worker=True,
    )
    application = create_app(settings)
    with TestClient(application):
        handle = application.state.dedup_worker
        assert handle is not None
        assert handle.thread.is_alive()
        with unit_of_work(engine) as session:
            recording_id = record(session, population().gallery[3]).id
        deadline = time.monotonic() + 60
        while _status(engine, recording_id) == "SENT_FOR_ENROLLMENT" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _status(engine, recording_id) == "PRINT_READY_RECORD"
    assert not handle.thread.is_alive()
    assert (
        create_app(Settings(database_url=url, data_dir=root / "off", secret_key="k" * 32)).state is not None
    )


def test_cli_work_once_and_status(scratch: tuple[str, Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, engine, root = scratch
    monkeypatch.setenv("EKTP_DEDUP_GALLERY_DIR", str(root / "cli-gallery"))
    from ektp.config import get_settings

    get_settings.cache_clear()
    try:
        with unit_of_work(engine) as session:
            ids = [record(session, population().gallery[i]).id for i in (1, 2)]
            bad = record(session, payload=b"junk").id
        runner = CliRunner()
        done = runner.invoke(app, ["work", "--once", "--batch", "5", "--database-url", url])
        assert done.exit_code == 0, done.output
        assert "decided 3" in done.output
        assert [_status(engine, i) for i in ids] == ["PRINT_READY_RECORD"] * 2
        assert _status(engine, bad) == "ENROLL_FAILURE"
        shown = runner.invoke(app, ["status", "--database-url", url])
        assert shown.exit_code == 0, shown.output
        assert "jobs DONE" in shown.output
        refused = runner.invoke(app, ["work", "--batch", "0", "--database-url", url])
        assert refused.exit_code == 2
        too_many = runner.invoke(app, ["work", "--threads", "0", "--database-url", url])
        assert too_many.exit_code == 2
        assert "--threads" in too_many.output
        missing = runner.invoke(app, ["retry", "999999", "--database-url", url])
        assert missing.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_a_killed_worker_process_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ektp dedup work`` killed with SIGKILL in the middle of a batch: its claims run out, a
    second worker retakes them, and every recording ends with exactly one decision (the gallery's
    writer lock dies with the process)."""
    url = f"sqlite:///{tmp_path / 'ektp.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
            ids = [record(session, population().gallery[i]).id for i in range(4, 16)]
        env = {
            **os.environ,
            "EKTP_DEDUP_GALLERY_DIR": str(tmp_path / "gallery"),
            "EKTP_DEDUP_LEASE_SECONDS": "3",
            "EKTP_DATA_DIR": str(tmp_path),
        }
        ektp = str(Path(sys.executable).with_name("ektp"))
        doomed = subprocess.Popen(
            [ektp, "dedup", "work", "--batch", "4", "--worker-id", "doomed", "--database-url", url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not _claimed_by(engine, "doomed"):
                time.sleep(0.05)
            assert _claimed_by(engine, "doomed"), "the worker never claimed a batch"
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=30)
        assert doomed.returncode == -signal.SIGKILL
        with unit_of_work(engine) as session:
            orphaned = session.scalars(
                select(DedupJob.enrollment_id).where(
                    DedupJob.state == "CLAIMED", DedupJob.claimed_by == "doomed"
                )
            ).all()
        assert orphaned, "killed while holding a batch"

        for name, value in env.items():
            if name.startswith("EKTP_"):
                monkeypatch.setenv(name, value)
        from ektp.config import get_settings

        get_settings.cache_clear()
        try:
            time.sleep(3.5)  # the dead worker's lease runs out
            done = CliRunner().invoke(
                app, ["work", "--once", "--batch", "20", "--worker-id", "heir", "--database-url", url]
            )
            assert done.exit_code == 0, done.output
        finally:
            get_settings.cache_clear()
        with unit_of_work(engine) as session:
            decisions = session.execute(
                select(DedupDecision.enrollment_id, func.count()).group_by(DedupDecision.enrollment_id)
            ).all()
            assert sorted(enrollment_id for enrollment_id, _ in decisions) == sorted(ids)
            assert {count for _, count in decisions} == {1}
            statuses = session.scalars(select(Enrollment.status).where(Enrollment.id.in_(ids))).all()
            assert set(statuses) == {"PRINT_READY_RECORD"}
            jobs = session.scalars(select(DedupJob).where(DedupJob.enrollment_id.in_(orphaned))).all()
            assert {job.state for job in jobs} == {"DONE"}
            assert all(job.attempts >= 2 for job in jobs), "retaken after the lease ran out"
    finally:
        engine.dispose()


def _claimed_by(engine: Engine, worker_id: str) -> bool:
    with unit_of_work(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DedupJob)
                .where(DedupJob.state == "CLAIMED", DedupJob.claimed_by == worker_id)
            )
            or 0
        ) > 0


def test_threaded_evaluation_decides_as_one_thread_does(scratch: tuple[str, Engine, Path]) -> None:
    """Two evaluation threads (each recording in its own transaction): the batch gets the
    decisions one thread would give — the earlier recording of a person recorded twice in the
    batch is PRR and the later one its DUPLICATE, an unreadable capture an ENROLL_FAILURE."""
    _url, engine, root = scratch
    matcher = DedupMatcher.open(root / "threaded", calibration=default_calibration(), thresholds=thresholds())
    try:
        with unit_of_work(engine) as session:
            first = record(session, population().gallery[17]).id
            others = [record(session, population().gallery[i]).id for i in (18, 19, 20)]
            bad = record(session, payload=b"junk").id
            again = record(session, second_capture(17)).id
        worker = Worker(engine, matcher, worker_id="threaded", batch=10, threads=2)
        result = worker.run_batch()
        assert result.claimed == 6
        assert result.decided == 6
        assert _status(engine, first) == "PRINT_READY_RECORD"
        assert [_status(engine, i) for i in others] == ["PRINT_READY_RECORD"] * 3
        assert _status(engine, bad) == "ENROLL_FAILURE"
        assert _status(engine, again) == "DUPLICATE_RECORD"
        with unit_of_work(engine) as session:
            matched = session.scalars(
                select(DedupDecision.matched_enrollment_id).where(DedupDecision.enrollment_id == again)
            ).one()
        assert matched == first
    finally:
        matcher.close()


def test_turnstile_lets_searches_through_in_claim_order() -> None:
    turns = _Turnstile(4)
    order: list[int] = []

    def search(index: int) -> None:
        if index == 2:
            turns.done(index)  # failed before its search: must not hold the others up
            return
        with turns.turn(index):
            order.append(index)

    threads = [threading.Thread(target=search, args=(i,)) for i in (3, 1, 2, 0)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=10)
    assert order == [0, 1, 3]
