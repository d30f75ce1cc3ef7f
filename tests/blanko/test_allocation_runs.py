"""Allocation runs over the database: inputs gathered from requests and the ledger, stored,
reproducible from what is stored (both modes), approval turning the proposal into approvals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.blanko import allocation_runs as runs
from ektp.blanko import requests as service
from ektp.kit.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.audit import AuditEntry
from ektp.models.blanko_requests import AllocationLine, BlankRequest
from ektp.planning.allocation import AllocationPolicy
from tests.blanko.test_requests import People, actor, balance_of, stock_centre

TODAY = today_wib()


@pytest.fixture
def people(session: Session) -> People:
    return People(session)


def submitted(session: Session, region: str, quantity: int) -> BlankRequest:
    who = actor(session, Role.REGIONAL_OPERATOR, region)
    request = service.create_request(
        session, region_code=region, quantity=quantity, justification="running low", actor=who
    )
    service.submit(session, request=request, actor=who)
    return request


@pytest.fixture
def scene(session: Session, people: People) -> dict[str, list[BlankRequest]]:
    """Three offices asking for 3,300 blanks between them, 2,000 uncommitted at the centre."""
    stock_centre(session, 2000)
    return {
        "32.04": [submitted(session, "32.04", 1000), submitted(session, "32.04", 500)],
        "32.73": [submitted(session, "32.73", 1200)],
        "31.71": [submitted(session, "31.71", 600)],
    }


class TestGatherAndStore:
    def test_needs_sum_each_regions_submitted_requests(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        needs = {n["region_code"]: n for n in run.inputs["needs"]}
        assert {code: n["requested"] for code, n in needs.items()} == {
            "32.04": 1500,
            "32.73": 1200,
            "31.71": 600,
        }
        assert needs["32.04"]["priority_class"] == 1
        assert run.sources["request_ids"]["32.04"] == [r.id for r in scene["32.04"]]
        assert run.supply == balance_of(session, "CENTRE") == 2000
        assert run.allocated <= run.supply
        assert run.status == "PROPOSED"
        lines = runs.run_lines(session, run=run)
        assert [line.region_code for line in lines] == sorted(needs)
        assert sum(line.allocated for line in lines) == run.allocated
        assert all(line.allocated % 100 == 0 for line in lines)

    def test_approved_but_unreleased_blanks_are_not_supply(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        first = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        request = scene["31.71"][0]
        service.approve(session, request=request, approved_quantity=600, reason=None, actor=people.logistics)
        second = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        assert second.supply == first.supply - 600
        assert second.sources["committed"] == first.sources["committed"] + 600

    def test_priority_event_raises_the_class_of_its_regions(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        runs.create_priority_event(
            session,
            region_prefix="31",
            starts_on=TODAY - dt.timedelta(days=5),
            ends_on=TODAY + dt.timedelta(days=30),
            priority_class=0,
            reason="DKI Jakarta election run-off",
            actor=people.logistics,
        )
        runs.create_priority_event(
            session,
            region_prefix="32",
            starts_on=TODAY - dt.timedelta(days=60),
            ends_on=TODAY - dt.timedelta(days=30),
            priority_class=0,
            reason="over already",
            actor=people.logistics,
        )
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        assert [e["reason"] for e in run.inputs["events"]] == ["DKI Jakarta election run-off"]
        jakarta = next(r for r in run.outputs["regions"] if r["region_code"] == "31.71")
        assert jakarta["priority_class"] == 0
        assert jakarta["allocated"] == 600  # the top class is served in full first
        assert "DKI Jakarta election run-off" in jakarta["explanation"]

    def test_bad_event_names_the_field(self, session: Session, people: People) -> None:
        with pytest.raises(ValidationFailed) as caught:
            runs.create_priority_event(
                session,
                region_prefix="31",
                starts_on=TODAY,
                ends_on=TODAY - dt.timedelta(days=1),
                priority_class=0,
                reason="backwards",
                actor=people.logistics,
            )
        assert caught.value.problems[0].field == "events.ends_on"

    def test_nothing_to_run_without_submitted_requests(self, session: Session, people: People) -> None:
        for request in session.scalars(select(BlankRequest).where(BlankRequest.status == "SUBMITTED")):
            service.reject(session, request=request, reason="cleanup", actor=people.logistics)
        with pytest.raises(InvalidState, match="No SUBMITTED requests"):
            runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)

    @pytest.mark.parametrize("who", ["operator", "province", "auditor"])
    def test_only_central_logistics_runs(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]], who: str
    ) -> None:
        with pytest.raises(PermissionDenied):
            runs.create_run(session, policy=AllocationPolicy(), actor=getattr(people, who))


class TestReproducible:
    @pytest.mark.parametrize(
        "policy",
        [
            AllocationPolicy(),
            AllocationPolicy(mode="milp", max_shipments=2, floor_boxes=0, central_reserve=200),
        ],
        ids=["water_filling", "milp"],
    )
    def test_rerun_from_stored_inputs_gives_same_fingerprint_and_outputs(
        self,
        session: Session,
        people: People,
        scene: dict[str, list[BlankRequest]],
        policy: AllocationPolicy,
    ) -> None:
        run = runs.create_run(session, policy=policy, actor=people.logistics)
        session.expire(run)  # read back what the database stored
        stored = session.get(type(run), run.id)
        assert stored is not None
        again = runs.recompute(stored)
        assert again.fingerprint == stored.fingerprint
        assert json.loads(json.dumps(again.as_dict())) == stored.outputs
        assert runs.is_reproducible(stored)
        assert stored.mode == policy.mode

    def test_a_changed_input_changes_the_fingerprint(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        first = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        same = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        assert same.fingerprint == first.fingerprint
        submitted(session, "32.73", 100)
        changed = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        assert changed.fingerprint != first.fingerprint

    def test_tampered_outputs_are_detected(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        outputs = dict(run.outputs)
        outputs["allocations"] = {**outputs["allocations"], "32.04": outputs["allocations"]["32.04"] + 100}
        run.outputs = outputs
        assert not runs.is_reproducible(run)


class TestApproveRun:
    def test_approval_turns_the_proposal_into_approvals(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        allocations = run.outputs["allocations"]
        approved = runs.approve_run(session, run=run, actor=people.logistics, note="ok")
        assert run.status == "APPROVED"
        assert run.decided_by_username == people.logistics.username
        by_region: dict[str, int] = {}
        for request in approved:
            assert request.status == "APPROVED"
            assert request.allocation_run_id == run.id
            assert request.decision_reason == f"allocation run #{run.id}"
            assert request.approved_quantity is not None
            assert request.approved_quantity <= request.requested_quantity
            by_region[request.region_code] = by_region.get(request.region_code, 0) + request.approved_quantity
        assert by_region == {code: q for code, q in allocations.items() if q > 0}

    def test_oldest_request_of_a_region_is_served_first(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        runs.approve_run(session, run=run, actor=people.logistics)
        older, newer = scene["32.04"]
        given = run.outputs["allocations"]["32.04"]
        ids = run.sources["request_ids"]["32.04"]
        requests = {r.id: r for r in session.scalars(select(BlankRequest).where(BlankRequest.id.in_(ids)))}
        left = given
        for request_id in ids:
            request = requests[request_id]
            expect = min(left, request.requested_quantity)
            if expect > 0:
                assert request.approved_quantity == expect
            else:
                assert request.status == "SUBMITTED"  # stays in the queue for the next run
            left -= expect
        assert older.id in ids
        assert newer.id in ids

    def test_approval_is_audited(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        runs.approve_run(session, run=run, actor=people.logistics)
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "allocation_run", AuditEntry.entity_id == str(run.id))
            .order_by(AuditEntry.id)
        ).all()
        assert actions == ["allocation_run.create", "allocation_run.approve"]

    def test_a_run_is_decided_once(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        runs.discard_run(session, run=run, actor=people.logistics)
        with pytest.raises(InvalidState, match="is DISCARDED: only a PROPOSED run can be approved"):
            runs.approve_run(session, run=run, actor=people.logistics)
        with pytest.raises(InvalidState):
            runs.discard_run(session, run=run, actor=people.logistics)

    def test_stale_run_is_refused(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        service.reject(session, request=scene["32.73"][0], reason="withdrawn", actor=people.logistics)
        if run.outputs["allocations"]["32.73"] == 0:
            pytest.skip("32.73 received nothing in this run")
        with pytest.raises(Conflict, match="out of date"):
            runs.approve_run(session, run=run, actor=people.logistics)
        assert run.status == "PROPOSED"

    def test_sorting_is_server_side_and_validated(
        self, session: Session, people: People, scene: dict[str, list[BlankRequest]]
    ) -> None:
        run = runs.create_run(session, policy=AllocationPolicy(), actor=people.logistics)
        lines = runs.run_lines(session, run=run, sort="allocated", direction="desc")
        values = [line.allocated for line in lines]
        assert values == sorted(values, reverse=True)
        cover = [line.days_of_cover_after for line in runs.run_lines(session, run=run, sort="cover_after")]
        assert cover == sorted(cover)
        with pytest.raises(ValidationFailed) as caught:
            runs.run_lines(session, run=run, sort="secret")
        assert caught.value.problems[0].field == "sort"
        assert (
            session.scalars(select(AllocationLine).where(AllocationLine.run_id == run.id)).first() is not None
        )
