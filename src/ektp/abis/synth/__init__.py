"""Synthetic biometric population: identities with 10 fingers (minutiae), 2 irises (IrisCodes)
and a face embedding, realistic captures of them, probe sets with ground truth and recording
streams with planted duplicates. Deterministic for a seed; no real biometric data is used.

Typical use::

    from ektp.abis.synth import SynthConfig, make_population, make_probes

    population = make_population(10_000, SynthConfig(), seed=1)
    probes = make_probes(population, n_mated=500, n_nonmated=500, seed=2, hard_fraction=0.1)
    for probe in probes:
        probe.sample, probe.mate_id  # BiometricSample, "G000123" or None
"""

from ektp.abis.synth.captures import HARD_KINDS, HARD_PARTIAL, HARD_ROTATED, HARD_SUBSET, HARD_SWAPPED
from ektp.abis.synth.config import SynthConfig
from ektp.abis.synth.identities import IdentityTable, PatternClass
from ektp.abis.synth.population import (
    Population,
    Probe,
    Recording,
    RecordingStream,
    make_population,
    make_probes,
    make_recording_stream,
    mate_rows,
)
from ektp.abis.synth.stats import population_statistics, print_statistics, synth_statistics

__all__ = [
    "HARD_KINDS",
    "HARD_PARTIAL",
    "HARD_ROTATED",
    "HARD_SUBSET",
    "HARD_SWAPPED",
    "IdentityTable",
    "PatternClass",
    "Population",
    "Probe",
    "Recording",
    "RecordingStream",
    "SynthConfig",
    "make_population",
    "make_probes",
    "make_recording_stream",
    "mate_rows",
    "population_statistics",
    "print_statistics",
    "synth_statistics",
]
