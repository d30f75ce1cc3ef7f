"""The dedup queue (penunggalan): recordings sent for enrollment are searched 1:N (ABIS) and
checked demographically by workers, and decided exactly once (PRR / DUPLICATE / ADJUDICATE /
ENROLL_FAILURE)."""
