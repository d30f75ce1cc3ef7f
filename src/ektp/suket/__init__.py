"""Sukets (surat keterangan, BRIEF §5): temporary certificates for recorded residents whose region
cannot print their card yet, with a signed QR token checked at ``/verify/suket/<token>``."""
