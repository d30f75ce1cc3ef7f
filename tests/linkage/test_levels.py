"""The Python comparison levels of the incremental matcher agree with Splink's SQL."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.linkage.corrupt import make_dataset
from ektp.linkage.levels import check_levels_match, comparison_vector, jaro_winkler, within_one_edit
from ektp.linkage.model import BLOCKING_RULES_SQL, FEATURE_SCHEMA, ektp_settings, prepare_records
from ektp.simulate.population import RegionPool


@pytest.fixture(scope="module")
def connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


class TestStringFunctions:
    @given(st.text(alphabet="ABCDEKMNOSU ", max_size=12), st.text(alphabet="ABCDEKMNOSU ", max_size=12))
    @settings(max_examples=300, deadline=None)
    def test_jaro_winkler_in_range_and_symmetric(self, left: str, right: str) -> None:
        assert 0.0 <= jaro_winkler(left, right) <= 1.0
        assert jaro_winkler(left, right) == pytest.approx(jaro_winkler(right, left))
        assert jaro_winkler(left, left) == (1.0 if left else 0.0)

    @given(st.text(alphabet="0123-", max_size=10), st.text(alphabet="0123-", max_size=10))
    @settings(max_examples=300, deadline=None)
    def test_one_edit_as_duckdb(self, left: str, right: str) -> None:
        expected = duckdb.execute("select damerau_levenshtein($1, $2) <= 1", [left, right]).fetchall()
        assert within_one_edit(left, right) is expected[0][0]


class TestComparisonVector:
    def test_agrees_with_splink_sql_on_blocked_generated_pairs(
        self, connection: duckdb.DuckDBPyConnection
    ) -> None:
        dataset = make_dataset(1200, seed=31, pool=RegionPool.from_source(["32", "33"]))
        features = prepare_records(dataset.records)
        settings_obj = ektp_settings().get_settings("duckdb")
        cases = ", ".join(comparison._case_statement for comparison in settings_obj.comparisons)
        columns = ", ".join(f"l.{n} as {n}_l, r.{n} as {n}_r" for n in FEATURE_SCHEMA.names)
        connection.register("f", features)
        rules = " or ".join(f"({rule})" for rule in BLOCKING_RULES_SQL)
        sql = f"select l.record_id, r.record_id, {cases} from (select {columns} from f l join f r on ({rules}) and l.record_id < r.record_id)"
        rows = connection.execute(
            sql.replace("l.record_id, r.record_id,", "record_id_l, record_id_r,")
        ).fetchall()
        by_id = {row["record_id"]: row for row in features.to_pylist()}
        assert len(rows) > 300

        def duckdb_jw(left: str, right: str) -> float:
            return float(
                connection.execute("select jaro_winkler_similarity($1, $2)", [left, right]).fetchall()[0][0]
            )

        for row in rows:
            left, right = by_id[row[0]], by_id[row[1]]
            assert comparison_vector(left, right, duckdb_jw) == list(row[2:]), (left, right)

    def test_other_models_are_refused(self) -> None:
        with pytest.raises(ValidationFailed, match="levels differ"):
            check_levels_match([["x"]])
        _ = pa  # pyarrow is what prepare_records returns
