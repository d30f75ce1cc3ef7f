"""Blank (blanko) logistics: contracts and lots, the append-only double-entry ledger of blank
movements (``ektp.blanko.ledger.post`` is the one way stock changes), reconciliation per contract,
and — built on the ledger — regional requests and allocation runs."""
