"""Every knob of the synthetic biometric population, with defaults that give realistic figures
(see :func:`ektp.abis.synth.stats.synth_statistics` for what they produce)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ektp.kit.errors import invalid


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the generator. Units: pixels at 500 dpi, degrees, fractions in [0, 1].

    Fingerprints
        Each finger has a *master* minutiae set laid in an ellipse of ``finger_width_px`` ×
        ``finger_height_px`` along a Sherlock–Monro orientation field (cores and deltas placed by
        pattern class). An impression keeps the part of the master inside a *contact ellipse*
        (scaled by ``contact_scale_range``), distorts it non-linearly (more towards the edge of the
        contact area), rotates and places it on a ``sensor_width`` × ``sensor_height`` sensor,
        drops ``missing_range`` of the minutiae, adds ``spurious_range`` spurious ones, jitters
        positions and angles, flips types, and crops to the sensor.
    Person quality
        ``worn_fraction`` of persons have worn prints: their wear level adds up to
        ``worn_extra_missing`` / ``worn_extra_spurious`` and lowers the quality values.
    Irises
        The master code is a Gaussian-smoothed random field on the 8 × 256 polar grid thresholded
        at 0; ``iris_sigma_rows`` / ``iris_sigma_columns`` (in grid cells) set the correlation
        length, hence the degrees of freedom of impostor distances. A capture flips a fraction of
        bits (per person ``iris_flip_range``, a poor-quality tail, per-capture spread), in bursts
        (the flip field is smoothed by ``iris_flip_smoothing``), turns the eye by up to
        ``iris_rotation_max`` columns, and masks eyelids, eyelashes and a reflection.
    Faces
        Identity vectors in ``face_dim`` dimensions with an anisotropic spectrum
        (``face_spectrum_decay``); ``lookalike_fraction`` of identities share a cluster centre with
        2–``lookalike_max_cluster`` others at similarity ``lookalike_similarity``; captures add
        isotropic noise of per-person scale ``face_noise_range``.
    """

    # --- fingerprints: geometry
    finger_width_px: float = 300.0
    finger_height_px: float = 400.0
    sensor_width: int = 400
    sensor_height: int = 500
    resolution_ppcm: int = 197
    master_minutiae_mean: float = 72.0
    master_minutiae_sd: float = 12.0
    min_minutia_spacing_px: float = 10.0
    bifurcation_fraction: float = 0.45
    singular_point_jitter_px: float = 15.0
    # --- fingerprints: pattern classes (per hand: ulnar loops open towards the little finger)
    p_ulnar_loop: float = 0.60
    p_radial_loop: float = 0.05
    p_whorl: float = 0.30
    p_arch: float = 0.03
    p_tented_arch: float = 0.02
    #: spread (log-normal sigma) of a person's propensity for whorls: fingers of one person correlate
    whorl_propensity_sd: float = 0.5
    # --- fingerprints: impression nuisance
    contact_scale_min: float = 0.72
    contact_scale_max: float = 0.92
    contact_offset_sd_px: float = 18.0
    placement_sd_px: float = 22.0
    rotation_max_deg: float = 20.0
    distortion_shift_sd_px: float = 7.0
    distortion_rotation_sd_deg: float = 3.0
    position_jitter_px: float = 2.5
    angle_jitter_deg: float = 6.0
    missing_min: float = 0.10
    missing_max: float = 0.30
    spurious_min: float = 0.05
    spurious_max: float = 0.20
    type_flip_prob: float = 0.08
    worn_fraction: float = 0.05
    worn_extra_missing: float = 0.25
    worn_extra_spurious: float = 0.25
    amputation_prob: float = 0.002
    bandage_prob: float = 0.004
    # --- irises
    iris_sigma_rows: float = 1.0
    iris_sigma_columns: float = 3.8
    iris_flip_min: float = 0.04
    iris_flip_max: float = 0.11
    iris_poor_fraction: float = 0.06
    iris_poor_extra_flip: float = 0.10
    iris_capture_flip_sd: float = 0.25
    iris_flip_smoothing: float = 1.0
    iris_rotation_max: int = 5
    upper_eyelid_half_width_min: float = 20.0
    upper_eyelid_half_width_max: float = 60.0
    upper_eyelid_depth_max: float = 5.0
    lower_eyelid_half_width_min: float = 10.0
    lower_eyelid_half_width_max: float = 40.0
    lower_eyelid_depth_max: float = 3.0
    eyelash_fraction: float = 0.02
    eye_missing_prob: float = 0.003
    # --- faces
    face_dim: int = 512
    face_spectrum_decay: float = 0.25
    lookalike_fraction: float = 0.04
    lookalike_max_cluster: int = 4
    lookalike_similarity: float = 0.5
    face_noise_min: float = 0.50
    face_noise_max: float = 0.80
    face_capture_noise_sd: float = 0.15
    face_missing_prob: float = 0.002

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not value >= 0.0:
                raise invalid(f.name, "non_negative", f"{f.name} must be a number >= 0, got {value}")
        fractions = [
            "bifurcation_fraction",
            "p_ulnar_loop",
            "p_radial_loop",
            "p_whorl",
            "p_arch",
            "p_tented_arch",
            "missing_min",
            "missing_max",
            "spurious_min",
            "spurious_max",
            "type_flip_prob",
            "worn_fraction",
            "amputation_prob",
            "bandage_prob",
            "iris_flip_min",
            "iris_flip_max",
            "iris_poor_fraction",
            "eyelash_fraction",
            "eye_missing_prob",
            "lookalike_fraction",
            "lookalike_similarity",
            "face_missing_prob",
        ]
        for name in fractions:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise invalid(name, "fraction", f"{name} must be in [0, 1], got {getattr(self, name)}")
        total = self.p_ulnar_loop + self.p_radial_loop + self.p_whorl + self.p_arch + self.p_tented_arch
        if abs(total - 1.0) > 1e-6:
            raise invalid("p_ulnar_loop", "sum", f"pattern class probabilities must sum to 1, got {total}")
        for low, high in (
            ("contact_scale_min", "contact_scale_max"),
            ("missing_min", "missing_max"),
            ("spurious_min", "spurious_max"),
            ("iris_flip_min", "iris_flip_max"),
            ("upper_eyelid_half_width_min", "upper_eyelid_half_width_max"),
            ("lower_eyelid_half_width_min", "lower_eyelid_half_width_max"),
            ("face_noise_min", "face_noise_max"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise invalid(low, "range", f"{low} must not exceed {high}")
        if not 0 <= self.iris_rotation_max < 128:
            raise invalid("iris_rotation_max", "range", "iris_rotation_max must be in 0..127 columns")
        if self.face_dim < 2:
            raise invalid("face_dim", "range", "face_dim must be at least 2")
        if self.lookalike_max_cluster < 2:
            raise invalid("lookalike_max_cluster", "range", "lookalike_max_cluster must be at least 2")
        if self.sensor_width < 32 or self.sensor_height < 32:
            raise invalid("sensor_width", "range", "the sensor must be at least 32 × 32 pixels")
