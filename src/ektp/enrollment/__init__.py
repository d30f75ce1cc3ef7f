"""Enrollment (perekaman): service points, recordings with their biometric capture, the quality
gate and the status flow of BRIEF §4."""
