"""The default calibration of the 1:1 re-issue verification (score → LLR models per modality),
fitted once with ``ektp.abis.evaluate.fit_from_synth(300, seed=11)`` on the synthetic population
(all three modalities, ordinary captures). Kept as Python data so that it ships with the package;
a site with a calibration fitted on its own data passes it to
:func:`ektp.reissue.verification.verify_capture` instead."""

from typing import Any

CALIBRATION: dict[str, Any] = {
    "format": "ektp.abis.calibration",
    "version": 1,
    "created": "2026-11-22T19:32:59+00:00",
    "fitted_on": {
        "counts": {
            "face": {"genuine": 149, "impostor": 5964},
            "finger": {"genuine": 1480, "impostor": 59136},
            "iris": {"genuine": 299, "impostor": 11960},
        },
        "source": "ektp.abis.synth",
        "seed": 11,
        "population": 300,
        "probes": 150,
        "impostors_per_probe": 40,
        "hard_fraction": 0.0,
        "matchers": {"finger": "MCC LSS-R", "iris": "masked HD ±8 shifts", "face": "cosine"},
    },
    "modalities": {
        "face": {
            "transform": "identity",
            "orientation": 1,
            "genuine": {"mean": 0.6870661991538759, "std": 0.07221583875676403, "fit_r": 0.9967072552256591},
            "impostor": {
                "mean": -0.002780698267841226,
                "std": 0.0541566524981346,
                "fit_r": 0.995936426516028,
            },
            "t_low": -0.8893355591597137,
            "t_high": "inf",
            "llr_cap": 10.0,
            "n_genuine": 149,
            "n_impostor": 5964,
        },
        "finger": {
            "transform": "logit",
            "orientation": 1,
            "genuine": {"mean": -1.882881129816983, "std": 1.031105377905811, "fit_r": 0.9896864005760309},
            "impostor": {"mean": -4.185236466400312, "std": 0.33864819579246863, "fit_r": 0.9836068345200383},
            "t_low": -4.463614214820304,
            "t_high": "inf",
            "llr_cap": 30.0,
            "n_genuine": 1480,
            "n_impostor": 59136,
        },
        "iris": {
            "transform": "identity",
            "orientation": -1,
            "genuine": {
                "mean": -0.014925226153269919,
                "std": 0.09026133519145495,
                "fit_r": 0.9956055819934222,
            },
            "impostor": {
                "mean": -0.46784999196324256,
                "std": 0.040153702070799796,
                "fit_r": 0.9988710983786208,
            },
            "t_low": -0.579599519164551,
            "t_high": "inf",
            "llr_cap": 30.0,
            "n_genuine": 299,
            "n_impostor": 11960,
        },
    },
}
