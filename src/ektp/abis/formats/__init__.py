"""Biometric interchange formats for the ABIS: ISO/IEC 19794-2 finger minutiae records (2005 and
2011), CBEFF XML as MOSIP packs it, and the eKTP IrisCode and face-embedding containers.

Readers raise only :class:`FormatError` on bad input; writers validate first and raise
:class:`EncodeError` (a ``ValueError``) for values the format cannot hold."""

from ektp.abis.formats.cbeff import BIRecord, read_birs, read_cbeff, write_cbeff
from ektp.abis.formats.errors import EncodeError, FormatError
from ektp.abis.formats.face import read_face_embedding, write_face_embedding
from ektp.abis.formats.iriscode import read_iriscode, write_iriscode
from ektp.abis.formats.iso19794_2 import (
    CaptureDateTime,
    CertificationBlock,
    ExtendedDataArea,
    FingerMinutiaeRecord,
    FingerView,
    QualityBlock,
    fmr_to_minutiae,
    minutiae_to_fmr,
    read_fmr,
    write_fmr,
)

__all__ = [
    "BIRecord",
    "CaptureDateTime",
    "CertificationBlock",
    "EncodeError",
    "ExtendedDataArea",
    "FingerMinutiaeRecord",
    "FingerView",
    "FormatError",
    "QualityBlock",
    "fmr_to_minutiae",
    "minutiae_to_fmr",
    "read_birs",
    "read_cbeff",
    "read_face_embedding",
    "read_fmr",
    "read_iriscode",
    "write_cbeff",
    "write_face_embedding",
    "write_fmr",
    "write_iriscode",
]
