"""Re-issue requests (BRIEF §5): a new card for a resident who had one, for a reason with its
evidence, gated by 1:1 biometric verification when the resident has biometrics."""
