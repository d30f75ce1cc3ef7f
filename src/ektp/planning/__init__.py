"""Pure planning cores for blank logistics: allocation of central stock to regions
(:mod:`ektp.planning.allocation`), stock indicators and contract reconciliation
(:mod:`ektp.planning.indicators`) and demand forecasting (:mod:`ektp.planning.forecast`).

Plain data in (frozen dataclasses, sequences, numpy arrays), plain data out: no ORM, no web, no
clock. The blanko domain package loads the figures from the database, calls these functions and
stores what they return; the same functions run in tests, benchmarks and batch jobs unchanged.
"""
