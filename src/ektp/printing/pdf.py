"""The card as a PDF (reportlab): two pages at ISO/IEC 7810 ID-1 size (85.60 × 53.98 mm) — the
front with the printed fields of BRIEF §3, photo and signature boxes, place and date of issue; the
back with the blank serial, lot and the chip note. Used for a preview (fields from the resident,
marked PREVIEW) and for a printed card (fields from its ``printed_fields`` snapshot)."""

from __future__ import annotations

import io
from collections.abc import Mapping

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

CARD_WIDTH = 85.60 * mm
CARD_HEIGHT = 53.98 * mm

_ROWS: tuple[tuple[str, str], ...] = (
    ("Nama", "name"),
    ("Tempat/Tgl Lahir", "birth"),
    ("Jenis Kelamin", "sex"),
    ("Alamat", "address"),
    ("RT/RW", "rt_rw"),
    ("Kel/Desa", "village"),
    ("Kecamatan", "district"),
    ("Agama", "religion"),
    ("Status Perkawinan", "marital_status"),
    ("Pekerjaan", "occupation"),
    ("Kewarganegaraan", "citizenship"),
    ("Berlaku Hingga", "valid_until"),
)


def render_card(fields: Mapping[str, str], *, preview: bool = False, card_id: int | None = None) -> bytes:
    """The card's PDF bytes (front page, back page)."""
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=(CARD_WIDTH, CARD_HEIGHT), pageCompression=1)
    pdf.setTitle(f"KTP-el {fields.get('nik', '')}")
    left = 3 * mm
    # front
    pdf.setFont("Helvetica-Bold", 6)
    pdf.drawCentredString(CARD_WIDTH / 2, CARD_HEIGHT - 4 * mm, fields.get("province", ""))
    pdf.drawCentredString(CARD_WIDTH / 2, CARD_HEIGHT - 6.6 * mm, fields.get("regency", ""))
    pdf.setFont("Helvetica-Bold", 7)
    pdf.drawString(left, CARD_HEIGHT - 10.5 * mm, f"NIK : {fields.get('nik', '')}")
    pdf.setFont("Helvetica", 4.6)
    y = CARD_HEIGHT - 14 * mm
    for label, key in _ROWS:
        pdf.drawString(left, y, label)
        pdf.drawString(left + 17 * mm, y, f": {fields.get(key, '')}")
        if key == "sex":
            pdf.drawString(left + 40 * mm, y, f"Gol. Darah : {fields.get('blood_type', '-')}")
        y -= 2.9 * mm
    photo_x, photo_y, photo_w, photo_h = CARD_WIDTH - 22 * mm, CARD_HEIGHT - 33 * mm, 19 * mm, 23 * mm
    pdf.rect(photo_x, photo_y, photo_w, photo_h)
    pdf.drawCentredString(photo_x + photo_w / 2, photo_y + photo_h / 2, "FOTO")
    pdf.drawCentredString(photo_x + photo_w / 2, photo_y - 2.6 * mm, fields.get("issue_place", ""))
    pdf.drawCentredString(photo_x + photo_w / 2, photo_y - 4.8 * mm, fields.get("issue_date", ""))
    pdf.rect(photo_x, 3 * mm, photo_w, 7 * mm)
    pdf.drawCentredString(photo_x + photo_w / 2, 4 * mm, "TANDA TANGAN")
    if preview:
        pdf.setFont("Helvetica-Bold", 5)
        pdf.drawString(left, 1.5 * mm, "PREVIEW - NOT A CARD")
    pdf.showPage()
    # back
    pdf.setFont("Helvetica-Bold", 6)
    pdf.drawCentredString(CARD_WIDTH / 2, CARD_HEIGHT - 6 * mm, "KARTU TANDA PENDUDUK ELEKTRONIK")
    pdf.setFont("Helvetica", 5)
    lines = [
        f"Nomor blanko: {fields.get('blank_serial', '-')}",
        f"Lot: {fields.get('lot_no', '-')}",
        f"Kartu: {card_id if card_id is not None else '-'}",
        "Chip ISO/IEC 14443: biodata, foto, tanda tangan, 2 sidik jari",
        "Kartu ini milik Pemerintah Republik Indonesia.",
    ]
    y = CARD_HEIGHT - 12 * mm
    for line in lines:
        pdf.drawString(left, y, line)
        y -= 4 * mm
    if preview:
        pdf.setFont("Helvetica-Bold", 5)
        pdf.drawString(left, 1.5 * mm, "PREVIEW - NOT A CARD")
    pdf.showPage()
    pdf.save()
    return out.getvalue()
