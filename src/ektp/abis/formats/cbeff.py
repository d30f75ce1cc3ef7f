"""CBEFF XML (ISO/IEC 19785-3, as MOSIP packs biometrics) around the eKTP biometric blocks.

One document is one recording: a root ``<BIR>`` in the namespace
``http://standards.iso.org/iso-iec/19785/-3/ed-2/`` with ``<BIRInfo><Integrity>false</Integrity>``
and one child ``<BIR>`` per finger, per iris and for the face. Each child holds ``<Version>``,
``<CBEFFVersion>``, ``<BIRInfo>``, ``<BDBInfo>`` (``<Format>`` organization + type,
``<CreationDate>``, ``<Type>`` Finger|Iris|Face, ``<Subtype>``, ``<Level>``, ``<Purpose>``,
``<Quality>``) and the ``<BDB>`` in base64, element names as in MOSIP's CBEFF sample.

BDB formats (``<Format><Organization>``/``<Type>``):

=========  ======================  ======================================================
modality   format                  BDB
=========  ======================  ======================================================
Finger     ``Mosip`` / ``2``       ISO/IEC 19794-2 finger minutiae record (2005 or 2011);
                                   2 is the IBIA SC 37 format id MOSIP lists for minutiae
Iris       ``EKTP`` / ``1``        eKTP IrisCode container (:mod:`.iriscode`)
Face       ``EKTP`` / ``2``        eKTP face-embedding container (:mod:`.face`)
=========  ======================  ======================================================

Finger subtypes are MOSIP's ``"Left"|"Right"`` + ``"Thumb"|"IndexFinger"|"MiddleFinger"|
"RingFinger"|"LittleFinger"``; iris subtypes ``"Left"|"Right"``; the face has no subtype.

Reading is defensive: the XML is parsed with expat directly, a DOCTYPE (and with it every entity
declaration) is refused, external entities are never fetched, and documents above ``max_bytes`` are
refused. On input the namespace may be the CBEFF one or none, element order inside a BIR does not
matter, unknown elements are ignored, organization names and modality/subtype words are matched
case-insensitively, and the BDB may be standard or URL-safe base64, with or without padding.
Errors name the XML path (``/BIR/BIR[3]/BDBInfo/Subtype``); an error inside a BDB names the path
of the ``<BDB>`` element, the field and the byte offset inside the decoded block.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Literal
from xml.parsers import expat

from ektp.abis.formats._binary import check_range
from ektp.abis.formats.errors import EncodeError, FormatError
from ektp.abis.formats.face import FaceDtype, read_face_embedding, write_face_embedding
from ektp.abis.formats.iriscode import read_iriscode, write_iriscode
from ektp.abis.formats.iso19794_2 import FmrVersion, minutiae_to_fmr, read_fmr, view_minutiae
from ektp.abis.types import BiometricSample, EyePosition, FaceEmbedding, FingerPosition, IrisCode, Minutiae

CBEFF_NAMESPACE = "http://standards.iso.org/iso-iec/19785/-3/ed-2/"

#: (organization, type) of each BDB format written; organizations compare case-insensitively.
FINGER_MINUTIAE_FORMAT = ("Mosip", "2")
IRISCODE_FORMAT = ("EKTP", "1")
FACE_EMBEDDING_FORMAT = ("EKTP", "2")
QUALITY_ALGORITHM = ("EKTP", "1")

Purpose = Literal["Enroll", "Identify", "Verify", "EnrollVerify", "EnrollIdentify", "Audit"]
Level = Literal["Raw", "Intermediate", "Processed"]
_PURPOSES = ("Enroll", "Identify", "Verify", "EnrollVerify", "EnrollIdentify", "Audit")
_LEVELS = ("Raw", "Intermediate", "Processed")

_FINGER_NAMES = ("Thumb", "IndexFinger", "MiddleFinger", "RingFinger", "LittleFinger")
FINGER_SUBTYPES: dict[FingerPosition, str] = {
    FingerPosition(side_base + i + 1): f"{side} {name}"
    for side, side_base in (("Right", 0), ("Left", 5))
    for i, name in enumerate(_FINGER_NAMES)
}
IRIS_SUBTYPES: dict[EyePosition, str] = {EyePosition.RIGHT: "Right", EyePosition.LEFT: "Left"}
_FINGER_BY_SUBTYPE = {text.lower(): position for position, text in FINGER_SUBTYPES.items()}
_IRIS_BY_SUBTYPE = {text.lower(): eye for eye, text in IRIS_SUBTYPES.items()}
_FINGER_ORGANIZATIONS = ("mosip", "257")  # 257 = 0x0101, ISO/IEC JTC 1 SC 37 as a numeric owner

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BIRecord:
    """One child BIR as found in the document, BDB decoded from base64 but not parsed."""

    xpath: str
    type: str
    subtype: str
    format_organization: str
    format_type: str
    bdb: bytes
    creation_date: dt.datetime | None = None
    level: str | None = None
    purpose: str | None = None
    quality_score: int | None = None
    quality_algorithm: tuple[str, str] | None = None


# --------------------------------------------------------------------------------------------
# Safe XML parsing into a small tree
# --------------------------------------------------------------------------------------------


@dataclass
class _Node:
    tag: str
    namespace: str
    children: list[_Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()


def _parse_xml(data: bytes, max_bytes: int) -> _Node:
    if len(data) > max_bytes:
        raise FormatError("document", f"{len(data)} bytes exceeds the {max_bytes}-byte limit", xpath="/")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    roots: list[_Node] = []

    def refuse(what: str) -> None:
        raise FormatError("document", f"{what} is not allowed in a CBEFF document", xpath="/")

    def start(name: str, _attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        node = _Node(tag=local, namespace=namespace)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def characters(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    def doctype(*_args: object) -> None:
        refuse("a DOCTYPE declaration")

    def entity(*_args: object) -> None:
        refuse("an entity declaration")

    def external(*_args: object) -> int:
        refuse("an external entity reference")
        return 0

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise FormatError(
            "document",
            f"not well-formed XML: {expat.ErrorString(error.code)} (line {error.lineno}, column {error.offset})",
            xpath="/",
        ) from None
    except (ValueError, LookupError, UnicodeError) as error:
        raise FormatError("document", f"cannot decode the XML: {error}", xpath="/") from None
    if not roots:
        raise FormatError("document", "no root element", xpath="/")
    return roots[0]


def _one(parent: _Node, name: str, path: str, *, required: bool) -> _Node | None:
    matches = [child for child in parent.children if child.tag == name]
    if len(matches) > 1:
        raise FormatError(name, f"appears {len(matches)} times, expected once", xpath=f"{path}/{name}")
    if not matches:
        if required:
            raise FormatError(name, "required element is missing", xpath=f"{path}/{name}")
        return None
    return matches[0]


def _required_text(parent: _Node, name: str, path: str) -> str:
    node = _one(parent, name, path, required=True)
    assert node is not None
    if not node.text:
        raise FormatError(name, "must not be empty", xpath=f"{path}/{name}")
    return node.text


def _optional_text(parent: _Node, name: str, path: str) -> str | None:
    node = _one(parent, name, path, required=False)
    return None if node is None or not node.text else node.text


def _decode_base64(text: str, xpath: str) -> bytes:
    compact = "".join(text.split())
    if not compact:
        raise FormatError("BDB", "empty biometric data block", xpath=xpath)
    if not compact.isascii():
        raise FormatError("BDB", "not valid base64: non-ASCII characters", xpath=xpath)
    if ("-" in compact or "_" in compact) and not ("+" in compact or "/" in compact):
        compact = compact.replace("-", "+").replace("_", "/")
    if len(compact) % 4:
        compact += "=" * (4 - len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FormatError("BDB", f"not valid base64: {error}", xpath=xpath) from None


def _parse_datetime(text: str, xpath: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FormatError("CreationDate", f"not an ISO 8601 date-time: {text[:40]!r}", xpath=xpath) from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _parse_record(node: _Node, path: str) -> BIRecord:
    info = _one(node, "BDBInfo", path, required=True)
    assert info is not None
    info_path = f"{path}/BDBInfo"
    fmt = _one(info, "Format", info_path, required=True)
    assert fmt is not None
    fmt_path = f"{info_path}/Format"
    organization = _required_text(fmt, "Organization", fmt_path)
    format_type = _required_text(fmt, "Type", fmt_path)
    created_text = _optional_text(info, "CreationDate", info_path)
    created = None if created_text is None else _parse_datetime(created_text, f"{info_path}/CreationDate")
    modality = _required_text(info, "Type", info_path)
    subtype = " ".join((_optional_text(info, "Subtype", info_path) or "").split())
    score: int | None = None
    algorithm: tuple[str, str] | None = None
    quality = _one(info, "Quality", info_path, required=False)
    if quality is not None:
        quality_path = f"{info_path}/Quality"
        score_text = _optional_text(quality, "Score", quality_path)
        if score_text is not None:
            if not (score_text.isascii() and score_text.isdigit()) or int(score_text) > 100:
                raise FormatError(
                    "Score",
                    f"must be an integer 0..100, got {score_text[:20]!r}",
                    xpath=f"{quality_path}/Score",
                )
            score = int(score_text)
        algorithm_node = _one(quality, "Algorithm", quality_path, required=False)
        if algorithm_node is not None:
            algorithm_path = f"{quality_path}/Algorithm"
            algorithm = (
                _optional_text(algorithm_node, "Organization", algorithm_path) or "",
                _optional_text(algorithm_node, "Type", algorithm_path) or "",
            )
    bdb_node = _one(node, "BDB", path, required=True)
    assert bdb_node is not None
    return BIRecord(
        xpath=path,
        type=modality,
        subtype=subtype,
        format_organization=organization,
        format_type=format_type,
        bdb=_decode_base64(bdb_node.text, f"{path}/BDB"),
        creation_date=created,
        level=_optional_text(info, "Level", info_path),
        purpose=_optional_text(info, "Purpose", info_path),
        quality_score=score,
        quality_algorithm=algorithm,
    )


def read_birs(data: bytes | bytearray | memoryview, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[BIRecord]:
    """The child BIRs of a CBEFF document, in document order (a root BIR that itself carries a BDB
    and has no child BIRs is returned as the single record)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    root = _parse_xml(bytes(data), max_bytes)
    if root.tag != "BIR":
        raise FormatError(
            "BIR", f"root element must be BIR, got {root.tag[:40]!r}", xpath=f"/{root.tag[:40]}"
        )
    if root.namespace not in (CBEFF_NAMESPACE, ""):
        raise FormatError("BIR", f"unexpected namespace {root.namespace[:80]!r}", xpath="/BIR")
    children = [child for child in root.children if child.tag == "BIR"]
    if not children:
        if any(child.tag == "BDB" for child in root.children):
            return [_parse_record(root, "/BIR")]
        return []
    return [_parse_record(child, f"/BIR/BIR[{index}]") for index, child in enumerate(children, start=1)]


# --------------------------------------------------------------------------------------------
# BiometricSample <-> CBEFF
# --------------------------------------------------------------------------------------------


def _expect_format(
    record: BIRecord, expected: tuple[str, str], organizations: tuple[str, ...], what: str
) -> None:
    if record.format_organization.lower() not in organizations:
        raise FormatError(
            "Organization",
            f"{what} BDB format organization must be {expected[0]!r}, got {record.format_organization[:40]!r}",
            xpath=f"{record.xpath}/BDBInfo/Format/Organization",
        )
    if record.format_type != expected[1]:
        raise FormatError(
            "Type",
            f"{what} BDB format type must be {expected[1]!r}, got {record.format_type[:40]!r} (unsupported)",
            xpath=f"{record.xpath}/BDBInfo/Format/Type",
        )


def _nested(error: FormatError, record: BIRecord) -> FormatError:
    return FormatError(f"BDB.{error.field}", error.reason, offset=error.offset, xpath=f"{record.xpath}/BDB")


def _subtype_error(record: BIRecord, expected: str) -> FormatError:
    return FormatError(
        "Subtype",
        f"unknown {record.type} subtype {record.subtype[:40]!r}; expected {expected}",
        xpath=f"{record.xpath}/BDBInfo/Subtype",
    )


def _read_finger(record: BIRecord) -> tuple[FingerPosition, Minutiae]:
    position = _FINGER_BY_SUBTYPE.get(record.subtype.lower())
    if position is None:
        raise _subtype_error(
            record, "'Left'|'Right' + Thumb|IndexFinger|MiddleFinger|RingFinger|LittleFinger"
        )
    _expect_format(record, FINGER_MINUTIAE_FORMAT, _FINGER_ORGANIZATIONS, "Finger")
    try:
        fmr = read_fmr(record.bdb, keep_extended=False)
    except FormatError as error:
        raise _nested(error, record) from None
    views = [v for v in fmr.views if v.position == position] or [
        v for v in fmr.views if v.position == FingerPosition.UNKNOWN
    ]
    if not views:
        raise FormatError(
            "BDB.finger_position",
            f"the minutiae record holds no view of {position.name} (Subtype {record.subtype!r})",
            xpath=f"{record.xpath}/BDB",
        )
    return position, view_minutiae(views[0], position)


def _read_iris(record: BIRecord) -> tuple[EyePosition, IrisCode]:
    eye = _IRIS_BY_SUBTYPE.get(record.subtype.lower())
    if eye is None:
        raise _subtype_error(record, "'Left' or 'Right'")
    _expect_format(record, IRISCODE_FORMAT, (IRISCODE_FORMAT[0].lower(),), "Iris")
    try:
        iris = read_iriscode(record.bdb)
    except FormatError as error:
        raise _nested(error, record) from None
    if iris.eye == EyePosition.UNDEFINED:
        iris = dataclasses.replace(iris, eye=eye)
    elif iris.eye != eye:
        raise FormatError(
            "BDB.eye",
            f"the IrisCode says {iris.eye.name}, the Subtype says {record.subtype!r}",
            offset=5,
            xpath=f"{record.xpath}/BDB",
        )
    return eye, iris


def _read_face(record: BIRecord) -> FaceEmbedding:
    if record.subtype:
        raise _subtype_error(record, "no subtype for Face")
    _expect_format(record, FACE_EMBEDDING_FORMAT, (FACE_EMBEDDING_FORMAT[0].lower(),), "Face")
    try:
        return read_face_embedding(record.bdb)
    except FormatError as error:
        raise _nested(error, record) from None


def read_cbeff(
    data: bytes | bytearray | memoryview, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> BiometricSample:
    """Decode a CBEFF document into a BiometricSample. Two BIRs for the same finger, eye or face,
    an unknown modality or subtype, and BDB formats other than the three above are errors."""
    fingers: dict[FingerPosition, Minutiae] = {}
    irises: dict[EyePosition, IrisCode] = {}
    face: FaceEmbedding | None = None
    for record in read_birs(data, max_bytes=max_bytes):
        modality = record.type.lower()
        duplicate = FormatError(
            "Subtype",
            f"a second BIR for {record.type} {record.subtype!r}",
            xpath=f"{record.xpath}/BDBInfo/Subtype",
        )
        if modality == "finger":
            position, minutiae = _read_finger(record)
            if position in fingers:
                raise duplicate
            fingers[position] = minutiae
        elif modality == "iris":
            eye, iris = _read_iris(record)
            if eye in irises:
                raise duplicate
            irises[eye] = iris
        elif modality == "face":
            if face is not None:
                raise FormatError("Type", "a second BIR for the face", xpath=f"{record.xpath}/BDBInfo/Type")
            face = _read_face(record)
        else:
            raise FormatError(
                "Type",
                f"unsupported biometric type {record.type[:40]!r}; expected Finger, Iris or Face",
                xpath=f"{record.xpath}/BDBInfo/Type",
            )
    return BiometricSample(
        fingers=dict(sorted(fingers.items())), irises=dict(sorted(irises.items())), face=face
    )


def _format_date(value: dt.datetime) -> str:
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def write_cbeff(
    sample: BiometricSample,
    *,
    fmr_version: FmrVersion = "2011",
    purpose: Purpose = "Enroll",
    level: Level = "Processed",
    creation_date: dt.datetime | None = None,
    face_dtype: FaceDtype = "float32",
) -> bytes:
    """One CBEFF document for a recording: a BIR per finger (ascending position, each BDB an
    ISO/IEC 19794-2 record of that one finger), per iris (right, left) and for the face.
    ``creation_date`` defaults to now (UTC); naive datetimes are taken as UTC."""
    if purpose not in _PURPOSES:
        raise EncodeError("purpose", f"must be one of {', '.join(_PURPOSES)}, got {purpose!r}")
    if level not in _LEVELS:
        raise EncodeError("level", f"must be one of {', '.join(_LEVELS)}, got {level!r}")
    created = _format_date(creation_date if creation_date is not None else dt.datetime.now(dt.UTC))
    entries: list[tuple[str, str | None, tuple[str, str], int, bytes]] = []
    for position in sorted(sample.fingers, key=int):
        code = check_range(position, 1, 10, "fingers key")
        minutiae = sample.fingers[position]
        bdb = minutiae_to_fmr({FingerPosition(code): minutiae}, fmr_version)
        quality = check_range(
            minutiae.impression_quality, 0, 100, f"fingers[{FingerPosition(code).name}].impression_quality"
        )
        entries.append(
            ("Finger", FINGER_SUBTYPES[FingerPosition(code)], FINGER_MINUTIAE_FORMAT, quality, bdb)
        )
    for eye in sorted(sample.irises, key=int):
        code = check_range(eye, 1, 2, "irises key")
        iris = sample.irises[eye]
        if iris.eye not in (EyePosition.UNDEFINED, EyePosition(code)):
            raise EncodeError(f"irises[{EyePosition(code).name}].eye", f"IrisCode.eye is {iris.eye.name}")
        bdb = write_iriscode(dataclasses.replace(iris, eye=EyePosition(code)))
        entries.append(("Iris", IRIS_SUBTYPES[EyePosition(code)], IRISCODE_FORMAT, iris.quality, bdb))
    if sample.face is not None:
        bdb = write_face_embedding(sample.face, dtype=face_dtype)
        entries.append(("Face", None, FACE_EMBEDDING_FORMAT, sample.face.quality, bdb))

    def tag(name: str) -> str:
        return f"{{{CBEFF_NAMESPACE}}}{name}"

    def sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, tag(name))
        if text is not None:
            element.text = text
        return element

    root = ET.Element(tag("BIR"))
    sub(sub(root, "BIRInfo"), "Integrity", "false")
    for modality, subtype, (organization, format_type), quality, bdb in entries:
        bir = sub(root, "BIR")
        for version_tag in ("Version", "CBEFFVersion"):
            version = sub(bir, version_tag)
            sub(version, "Major", "1")
            sub(version, "Minor", "1")
        sub(sub(bir, "BIRInfo"), "Integrity", "false")
        info = sub(bir, "BDBInfo")
        fmt = sub(info, "Format")
        sub(fmt, "Organization", organization)
        sub(fmt, "Type", format_type)
        sub(info, "CreationDate", created)
        sub(info, "Type", modality)
        if subtype is not None:
            sub(info, "Subtype", subtype)
        sub(info, "Level", level)
        sub(info, "Purpose", purpose)
        quality_element = sub(info, "Quality")
        algorithm = sub(quality_element, "Algorithm")
        sub(algorithm, "Organization", QUALITY_ALGORITHM[0])
        sub(algorithm, "Type", QUALITY_ALGORITHM[1])
        sub(quality_element, "Score", str(quality))
        sub(bir, "BDB", base64.b64encode(bdb).decode("ascii"))
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True, default_namespace=CBEFF_NAMESPACE)
