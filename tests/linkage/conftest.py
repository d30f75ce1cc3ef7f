from __future__ import annotations

from typing import Any

import pytest

from ektp.simulate.population import RegionPool


@pytest.fixture(scope="session")
def region_pool() -> RegionPool:
    return RegionPool.from_source(["32", "33", "35"])


def person(record_id: int, **values: Any) -> dict[str, Any]:
    base = {
        "record_id": record_id, "nik": "", "name": "", "sex": "", "birth_date": "", "birth_place": "",
        "mother_name": "", "province_code": "", "regency_code": "", "district_code": "", "village_code": "",
        "address": "",
    }  # fmt: skip
    base.update(values)
    return base
