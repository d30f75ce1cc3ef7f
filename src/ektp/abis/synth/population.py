"""Populations, probe sets and recording streams built from synthetic identities.

Everything is deterministic for a seed. Reference ids are opaque: ``G000001``… for gallery
entries, ``P000001``… for probes, ``R000001``… for recordings of a stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ektp.abis.synth.captures import HARD_KINDS, CaptureRequest, render_samples
from ektp.abis.synth.config import SynthConfig
from ektp.abis.synth.identities import (
    BLOCK_SIZE,
    STREAM_GALLERY,
    STREAM_NONMATED,
    STREAM_RECORDINGS,
    IdentityTable,
    generate_identities,
)
from ektp.abis.types import BiometricSample
from ektp.kit.errors import invalid

#: Random-stream tags for the captures (distinct from the identity streams).
_CAPTURE_GALLERY = 101
_CAPTURE_PROBES = 102
_CAPTURE_RECORDINGS = 103


def reference_id(prefix: str, index: int) -> str:
    """``prefix`` + 1-based zero-padded number: ``reference_id("G", 0) == "G000001"``."""
    return f"{prefix}{index + 1:06d}"


@dataclass(frozen=True)
class Population:
    """A gallery: one enrolment capture per identity, with the identities' master traits.

    ``gallery[i]`` is the capture of identity ``i`` and is known by ``reference_ids[i]``."""

    config: SynthConfig
    seed: int
    reference_ids: tuple[str, ...]
    gallery: tuple[BiometricSample, ...]
    identities: IdentityTable

    def __len__(self) -> int:
        return len(self.gallery)

    def index_of(self, ref: str) -> int:
        """Row of a reference id (``G000001`` → 0)."""
        if not (ref.startswith("G") and ref[1:].isdigit()) or not 1 <= int(ref[1:]) <= len(self):
            raise invalid("reference_id", "unknown", f"{ref!r} is not a reference id of this population")
        return int(ref[1:]) - 1


@dataclass(frozen=True)
class Probe:
    """A search: ``mate_id`` is the gallery reference id of the same person, or None for a person
    who is not in the gallery. ``hard`` names the adversarial treatments applied (empty for an
    ordinary capture; see :mod:`ektp.abis.synth.captures`)."""

    probe_id: str
    sample: BiometricSample
    mate_id: str | None
    hard: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recording:
    """One recording of a stream. ``person`` is the ground-truth person number (never given to
    the ABIS); ``duplicate_of`` the id of that person's first recording when this one is a repeat."""

    recording_id: str
    sample: BiometricSample
    person: int
    duplicate_of: str | None
    hard: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordingStream:
    """Recordings in arrival order, with planted duplicates (a later recording of an earlier
    person)."""

    config: SynthConfig
    seed: int
    recordings: tuple[Recording, ...]

    @property
    def duplicate_count(self) -> int:
        return sum(1 for r in self.recordings if r.duplicate_of is not None)


def _check_seed(seed: int, name: str = "seed") -> int:
    if not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise invalid(name, "non_negative_int", f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_count(value: int, name: str) -> int:
    if not isinstance(value, int | np.integer) or int(value) < 0:
        raise invalid(name, "non_negative_int", f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _check_fraction(value: float, name: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise invalid(name, "fraction", f"{name} must be in [0, 1], got {value}")
    return float(value)


def make_population(n_identities: int, config: SynthConfig | None = None, seed: int = 0) -> Population:
    """A gallery of ``n_identities`` persons, each enrolled with one ordinary capture.

    Identities are generated block-wise, so the first ``n`` gallery entries are the same for any
    larger ``n_identities`` with the same seed and config (nested galleries for measuring at
    several N)."""
    n = _check_count(n_identities, "n_identities")
    seed = _check_seed(seed)
    cfg = config or SynthConfig()
    # whole blocks are generated and captured, then cut to n, so that a prefix stays a prefix
    n_full = -(-n // BLOCK_SIZE) * BLOCK_SIZE
    full = generate_identities(cfg, seed, STREAM_GALLERY, n_full)
    samples: list[BiometricSample] = []
    for start in range(0, n, BLOCK_SIZE):
        block_rng = np.random.default_rng([seed, _CAPTURE_GALLERY, start // BLOCK_SIZE])
        rows = range(start, start + BLOCK_SIZE)
        samples.extend(render_samples(cfg, full, [CaptureRequest(r) for r in rows], block_rng)[: n - start])
    table = full if n == n_full else full.take(np.arange(n, dtype=np.int64))
    return Population(
        config=cfg,
        seed=seed,
        reference_ids=tuple(reference_id("G", i) for i in range(n)),
        gallery=tuple(samples),
        identities=table,
    )


def _hard_kinds(rng: np.random.Generator, count: int, hard_fraction: float) -> list[tuple[str, ...]]:
    """For each of ``count`` captures: () or one or two adversarial kinds."""
    out: list[tuple[str, ...]] = []
    for _ in range(count):
        if rng.random() >= hard_fraction:
            out.append(())
            continue
        n_kinds = 1 if rng.random() < 0.7 else 2
        picks = rng.choice(len(HARD_KINDS), size=n_kinds, replace=False)
        out.append(tuple(HARD_KINDS[int(i)] for i in sorted(picks)))
    return out


def make_probes(
    population: Population,
    n_mated: int,
    n_nonmated: int,
    seed: int = 0,
    *,
    hard_fraction: float = 0.1,
) -> tuple[Probe, ...]:
    """Search probes against ``population``, shuffled, with ground truth.

    Mated probes are new captures of gallery persons (distinct persons while ``n_mated`` does
    not exceed the gallery size); non-mated probes are captures of new persons drawn from a
    separate random stream, never in the gallery. ``hard_fraction`` of the probes of **both**
    kinds get one or two adversarial treatments (partial, swapped, rotated, subset), so that
    FNIR and FPIR are measured under the same capture conditions; mated hard probes are the
    planted hard duplicates."""
    n_mated = _check_count(n_mated, "n_mated")
    n_nonmated = _check_count(n_nonmated, "n_nonmated")
    seed = _check_seed(seed)
    hard_fraction = _check_fraction(hard_fraction, "hard_fraction")
    if n_mated and not len(population):
        raise invalid("n_mated", "empty_gallery", "mated probes need a non-empty gallery")
    cfg = population.config
    rng = np.random.default_rng([population.seed, _CAPTURE_PROBES, seed])
    replace = n_mated > len(population)
    mates = rng.choice(len(population), size=n_mated, replace=replace) if n_mated else np.zeros(0, np.int64)
    hard_mated = _hard_kinds(rng, n_mated, hard_fraction)
    mated_samples = render_samples(
        cfg,
        population.identities,
        [CaptureRequest(int(r), h) for r, h in zip(mates, hard_mated, strict=True)],
        rng,
    )
    strangers = generate_identities(cfg, (population.seed, seed), STREAM_NONMATED, n_nonmated)
    hard_non = _hard_kinds(rng, n_nonmated, hard_fraction)
    nonmated_samples = render_samples(
        cfg, strangers, [CaptureRequest(i, h) for i, h in zip(range(n_nonmated), hard_non, strict=True)], rng
    )
    entries: list[tuple[BiometricSample, str | None, tuple[str, ...]]] = [
        (s, population.reference_ids[int(r)], h)
        for s, r, h in zip(mated_samples, mates, hard_mated, strict=True)
    ]
    entries += [(s, None, h) for s, h in zip(nonmated_samples, hard_non, strict=True)]
    order = rng.permutation(len(entries))
    return tuple(
        Probe(probe_id=reference_id("P", i), sample=entries[j][0], mate_id=entries[j][1], hard=entries[j][2])
        for i, j in enumerate(order)
    )


def make_recording_stream(
    n_recordings: int,
    config: SynthConfig | None = None,
    seed: int = 0,
    *,
    duplicate_rate: float = 0.011,
    hard_fraction: float = 0.3,
) -> RecordingStream:
    """A day's recordings for a deduplication demo: ``round(duplicate_rate · n)`` of them are
    repeat recordings of a person recorded earlier in the stream (``hard_fraction`` of those
    adversarial: partial, swapped, rotated, subset), the rest first recordings of distinct
    persons. First recordings are ordinary captures."""
    n = _check_count(n_recordings, "n_recordings")
    seed = _check_seed(seed)
    duplicate_rate = _check_fraction(duplicate_rate, "duplicate_rate")
    hard_fraction = _check_fraction(hard_fraction, "hard_fraction")
    cfg = config or SynthConfig()
    n_dup = round(duplicate_rate * n)
    n_unique = n - n_dup
    if n_dup and n_unique < 1:
        raise invalid(
            "duplicate_rate", "range", "a stream with duplicates needs at least one first recording"
        )
    table = generate_identities(cfg, seed, STREAM_RECORDINGS, n_unique)
    rng = np.random.default_rng([seed, _CAPTURE_RECORDINGS])
    firsts = render_samples(cfg, table, [CaptureRequest(i) for i in range(n_unique)], rng)
    dup_people = (
        rng.choice(n_unique, size=n_dup, replace=n_dup > n_unique) if n_dup else np.zeros(0, np.int64)
    )
    hard = _hard_kinds(rng, n_dup, hard_fraction)
    repeats = render_samples(
        cfg, table, [CaptureRequest(int(p), h) for p, h in zip(dup_people, hard, strict=True)], rng
    )
    # arrival order: first recordings in person order, each repeat somewhere after its original
    keys = np.concatenate(
        [
            np.arange(n_unique, dtype=np.float64),
            dup_people + 0.5 + rng.random(n_dup) * (n_unique - dup_people - 0.5),
        ]
    )
    order = np.argsort(keys, kind="stable")
    persons = np.concatenate([np.arange(n_unique), dup_people]).astype(np.int64)
    samples: Sequence[BiometricSample] = [*firsts, *repeats]
    hard_all: list[tuple[str, ...]] = [()] * n_unique + hard
    first_id: dict[int, str] = {}
    out: list[Recording] = []
    for pos, j in enumerate(order):
        rid = reference_id("R", pos)
        person = int(persons[j])
        original = first_id.get(person)
        if original is None:
            first_id[person] = rid
        out.append(
            Recording(
                recording_id=rid, sample=samples[j], person=person, duplicate_of=original, hard=hard_all[j]
            )
        )
    return RecordingStream(config=cfg, seed=seed, recordings=tuple(out))


def mate_rows(population: Population, probes: Sequence[Probe]) -> npt.NDArray[np.int64]:
    """Gallery row of each probe's mate, -1 for non-mated probes (handy for evaluation)."""
    return np.asarray(
        [population.index_of(p.mate_id) if p.mate_id is not None else -1 for p in probes], dtype=np.int64
    )
