"""Synthetic data for trying, testing and benchmarking ektp.

* :mod:`ektp.simulate.population` — a pure, seeded, vectorised generator of residents and
  families (KK) that look like an Indonesian register, streamed in chunks of column arrays;
* :mod:`ektp.simulate.names` and :mod:`ektp.simulate.data` — the curated name lists and the
  reference figures (province populations, religion shares, age pyramid, ...) it draws from;
* :mod:`ektp.simulate.load` — the bulk insert (``insert_population``) into SQLite or PostgreSQL;
* :mod:`ektp.simulate.cli` — ``ektp simulate population``.
"""
