"""λ follows the size of the data: a model's prior is rescaled as 1/N, never raised."""

from __future__ import annotations

import pytest

from ektp.linkage.model import EKTP_KEY, load_model, model_settings, prior_for, training_records


def test_prior_falls_as_one_over_n_and_is_never_raised() -> None:
    settings = {"probability_two_random_records_match": 1e-4}
    assert prior_for(settings, 10_001, 100_001) == pytest.approx(1e-5)
    assert prior_for(settings, 10_000, 500) == 1e-4
    assert prior_for(settings, None, 10**6) == 1e-4


def test_packaged_model_knows_its_training_size_and_splink_never_sees_it() -> None:
    assert (training_records(None) or 0) > 1000
    assert EKTP_KEY in load_model()
    assert EKTP_KEY not in model_settings(None)
