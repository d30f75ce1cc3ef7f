"""The adjudication part of ``ektp demo``: it needs no set-up of its own. The demo's
ADJUDICATE_RECORD and DUPLICATE_RECORD recordings come from the dedup worker, and the demo's
accounts already include what the two-examiner rule needs: ``demo.examiner`` (scoped to the demo
province) and ``demo.central-admin`` (national; it holds every permission, ADJUDICATE included).
:func:`demo_instructions` returns the steps to print after the demo's credentials."""

from __future__ import annotations

INSTRUCTIONS = """\
Adjudication (two examiners) and duplicate cases:
  1. Log in as demo.examiner → "Adjudication" (Adjudikasi): the queue of ADJUDICATE_RECORD
     recordings, oldest first. Open one: both records side by side, per-finger / per-eye / face
     scores, the fused score and thresholds, demographic evidence, the action history.
     "Not the same person" (with a reason) → PRINT_READY_RECORD at once.
     "Declare duplicate" → pending: the same examiner cannot confirm it.
  2. Log in as demo.central-admin (another browser or a private window) → same recording →
     "Confirm duplicate" → DUPLICATE_RECORD and a duplicate case. ("Disagree" leaves it in the
     queue; a third examiner, different from both, then decides.)
  3. "Duplicate cases" (Kasus ganda): every DUPLICATE_RECORD recording, including those the dedup
     worker declared itself. Open one → "Resolve the case": keep the first-recorded NIK (preselected),
     reason, consent given by / date / document reference, and optionally the move (pindah) and
     its life event number. The other recording becomes REMOVED (gallery removal requested; the
     dedup worker drops it at its next batch), the other resident record is recorded as withdrawn
     and merged into the kept one, the kept recording is PRINT_READY_RECORD.
  API: /api/v1/adjudication/queue, /recordings/{id}, /recordings/{id}/decisions,
       /duplicate-cases, /duplicate-cases/{id}, /duplicate-cases/{id}/resolution, /withdrawn-residents
"""


def demo_instructions() -> str:
    """How an examiner resolves a case in the demo (plain text, for the demo's banner)."""
    return INSTRUCTIONS
