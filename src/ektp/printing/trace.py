"""Blank traceability: is every blank a region used accounted for by a card or a spoilage record?

The ledger says how many blanks left a region's stock for PRINTED or SPOILED; printing writes one
:class:`~ektp.models.cards.BlankUsage` per blank (its serial, the ledger event, the outcome) and,
for a printed blank, one :class:`~ektp.models.cards.Card`. This report puts the two side by side
per region:

* **printed / spoiled**: blanks the ledger moved out of the region's stock with reason PRINT /
  SPOIL (net of any reversal of such an event);
* **imported**: of those, blanks of *imported totals* — consumption from before the region went
  live on ektp, brought over as daily totals with no card records (document numbers starting
  with :data:`IMPORTED_PREFIX`); they are shown, never counted as traced;
* **traced**: blank usages recorded by printing (a serial each), and how many printed usages have
  their card;
* **untraced**: blanks the ledger used that are neither imported nor recorded as a usage — what an
  auditor asks about. Zero in a healthy register.

Read-only; plain queries, no locks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ektp.models.blanko import LedgerEntry, LedgerEvent, LedgerReason, Location, LocationKind
from ektp.models.cards import BlankUsage, BlankUse, Card

__all__ = ["IMPORTED_PREFIX", "RegionBlankTrace", "blank_trace"]

#: Document numbers of ledger events that bring over consumption from before go-live as totals.
IMPORTED_PREFIX = "IMPORT/"

_USED = (LedgerReason.PRINT.value, LedgerReason.SPOIL.value)


@dataclass(frozen=True)
class RegionBlankTrace:
    region_code: str
    printed: int = 0
    spoiled: int = 0
    imported: int = 0
    printed_usages: int = 0
    spoiled_usages: int = 0
    #: Printed usages that have their card (one card per printed blank).
    cards: int = 0

    @property
    def used(self) -> int:
        return self.printed + self.spoiled

    @property
    def traced(self) -> int:
        return self.printed_usages + self.spoiled_usages

    @property
    def untraced(self) -> int:
        """Blanks used through the ledger with neither a usage record nor an import behind them
        (negative: usages recorded without their ledger posting — just as wrong)."""
        return self.used - self.imported - self.traced

    @property
    def cards_missing(self) -> int:
        return self.printed_usages - self.cards

    @property
    def complete(self) -> bool:
        return self.untraced == 0 and self.cards_missing == 0


def _ledger_use(session: Session, region_code: str | None) -> dict[tuple[str, str, bool], int]:
    """(region code, PRINT|SPOIL, imported?) → blanks out of the region's stock. A reversal of such
    an event moves blanks back and is counted against the reversed event's reason."""
    reversed_event = aliased(LedgerEvent)
    reason = func.coalesce(reversed_event.reason, LedgerEvent.reason)
    document_no = func.coalesce(reversed_event.document_no, LedgerEvent.document_no)
    # One row per entry first, grouped outside: PostgreSQL will not match the LIKE of the select
    # list to the one in GROUP BY (each carries its own bound parameter).
    entries = (
        select(
            Location.region_code.label("region_code"),
            reason.label("reason"),
            document_no.startswith(IMPORTED_PREFIX).label("imported"),
            (-LedgerEntry.quantity).label("quantity"),
        )
        .join(LedgerEvent, LedgerEvent.id == LedgerEntry.event_id)
        .join(Location, Location.id == LedgerEntry.location_id)
        .outerjoin(reversed_event, reversed_event.id == LedgerEvent.reverses_event_id)
        .where(
            Location.kind.in_((LocationKind.REGENCY.value, LocationKind.PROVINCE.value)),
            reason.in_(_USED),
        )
    )
    if region_code is not None:
        entries = entries.where(Location.region_code == region_code)
    rows = entries.subquery()
    query = select(rows.c.region_code, rows.c.reason, rows.c.imported, func.sum(rows.c.quantity)).group_by(
        rows.c.region_code, rows.c.reason, rows.c.imported
    )
    return {
        (str(code), str(why), bool(imported)): int(total or 0)
        for code, why, imported, total in session.execute(query)
    }


def _usages(session: Session, region_code: str | None) -> dict[tuple[str, str], tuple[int, int]]:
    """(region code, outcome) → (usages, usages with a card)."""
    query = (
        select(BlankUsage.region_code, BlankUsage.outcome, func.count(BlankUsage.id), func.count(Card.id))
        .outerjoin(Card, Card.blank_usage_id == BlankUsage.id)
        .group_by(BlankUsage.region_code, BlankUsage.outcome)
    )
    if region_code is not None:
        query = query.where(BlankUsage.region_code == region_code)
    return {
        (str(code), str(outcome)): (int(n), int(cards)) for code, outcome, n, cards in session.execute(query)
    }


def blank_trace(session: Session, region_code: str | None = None) -> list[RegionBlankTrace]:
    """One row per region that used blanks (or recorded a usage), in region-code order."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (code, why, imported), quantity in _ledger_use(session, region_code).items():
        key = "printed" if why == LedgerReason.PRINT.value else "spoiled"
        totals[code][key] += quantity
        if imported:
            totals[code]["imported"] += quantity
    for (code, outcome), (count, cards) in _usages(session, region_code).items():
        if outcome == BlankUse.PRINTED.value:
            totals[code]["printed_usages"] += count
            totals[code]["cards"] += cards
        else:
            totals[code]["spoiled_usages"] += count
    return [RegionBlankTrace(region_code=code, **dict(totals[code])) for code in sorted(totals)]
