"""The suket as an A4 PDF (reportlab): the province / regency header, "SURAT KETERANGAN", the
number, the resident's biodata, a photo box (a placeholder: no photo is stored yet), the
recording's status code, issue date, validity and a QR code of the public verification address
``<base_url>/verify/suket/<token>``. The printed text is in Indonesian (it is an official paper)."""

from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from ektp.models.population import Resident
from ektp.models.suket import Suket
from ektp.regions import repository as regions
from ektp.suket.service import token_for

_SEX = {"L": "LAKI-LAKI", "P": "PEREMPUAN"}
_MONTHS = (
    "JANUARI",
    "FEBRUARI",
    "MARET",
    "APRIL",
    "MEI",
    "JUNI",
    "JULI",
    "AGUSTUS",
    "SEPTEMBER",
    "OKTOBER",
    "NOVEMBER",
    "DESEMBER",
)


def _date(value: object) -> str:
    import datetime as dt

    if not isinstance(value, dt.date):
        return "-"
    return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"


def verify_url(suket: Suket, *, base_url: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/verify/suket/{token_for(suket, secret_key)}"


def render_suket_pdf(session: Session, suket: Suket, *, base_url: str, secret_key: str) -> bytes:
    resident = session.get(Resident, suket.resident_id)
    assert resident is not None
    names = regions.get_many(
        session,
        [resident.province_code, resident.regency_code, resident.district_code, resident.village_code],
    )

    def name(code: str) -> str:
        region = names.get(code)
        return region.name.upper() if region is not None else code

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setTitle(f"Surat Keterangan {suket.number}")
    width, height = A4
    y = height - 25 * mm
    pdf.setFont("Helvetica-Bold", 13)
    pdf.drawCentredString(width / 2, y, f"PEMERINTAH PROVINSI {name(resident.province_code)}")
    y -= 7 * mm
    pdf.drawCentredString(width / 2, y, name(resident.regency_code))
    y -= 6 * mm
    pdf.setFont("Helvetica", 10)
    pdf.drawCentredString(width / 2, y, "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL")
    y -= 4 * mm
    pdf.line(20 * mm, y, width - 20 * mm, y)
    y -= 12 * mm
    pdf.setFont("Helvetica-Bold", 15)
    pdf.drawCentredString(width / 2, y, "SURAT KETERANGAN")
    y -= 6 * mm
    pdf.setFont("Helvetica", 11)
    pdf.drawCentredString(width / 2, y, f"Nomor: {suket.number}")
    y -= 12 * mm
    pdf.setFont("Helvetica", 10)
    pdf.drawString(
        20 * mm, y, "Yang bertanda tangan di bawah ini menerangkan bahwa penduduk berikut telah melakukan"
    )
    y -= 5 * mm
    pdf.drawString(20 * mm, y, "perekaman KTP-el dan terdaftar dalam database kependudukan:")
    y -= 10 * mm

    rows = [
        ("NIK", resident.nik),
        ("Nama", resident.full_name),
        ("Tempat/Tgl Lahir", f"{resident.birth_place}, {_date(resident.birth_date)}"),
        ("Jenis Kelamin", _SEX.get(resident.sex, resident.sex)),
        ("Gol. Darah", resident.blood_type if resident.blood_type != "UNKNOWN" else "-"),
        ("Alamat", resident.street),
        ("RT/RW", f"{resident.rt}/{resident.rw}"),
        ("Kel/Desa", name(resident.village_code)),
        ("Kecamatan", name(resident.district_code)),
        ("Agama", resident.religion.replace("_", " ")),
        ("Status Perkawinan", resident.marital_status.replace("_", " ")),
        ("Pekerjaan", resident.occupation),
        ("Kewarganegaraan", resident.citizenship),
        ("Status Perekaman", suket.status_code),
    ]
    photo_x, photo_y = width - 20 * mm - 30 * mm, y - 40 * mm + 5 * mm
    pdf.rect(photo_x, photo_y, 30 * mm, 40 * mm)
    pdf.setFont("Helvetica", 8)
    pdf.drawCentredString(photo_x + 15 * mm, photo_y + 20 * mm, "PAS FOTO")
    pdf.drawCentredString(photo_x + 15 * mm, photo_y + 16 * mm, "3 x 4")
    pdf.setFont("Helvetica", 10)
    for label, value in rows:
        pdf.drawString(20 * mm, y, label)
        pdf.drawString(60 * mm, y, f": {value}")
        y -= 6 * mm
    y -= 6 * mm
    pdf.drawString(20 * mm, y, "Surat keterangan ini berlaku sebagai pengganti KTP-el sampai KTP-el dicetak.")
    y -= 6 * mm
    pdf.drawString(20 * mm, y, f"Tanggal terbit : {_date(suket.issued_on)}")
    y -= 6 * mm
    pdf.drawString(20 * mm, y, f"Berlaku sampai : {_date(suket.valid_until)}")
    y -= 6 * mm
    pdf.drawString(20 * mm, y, f"Diterbitkan oleh : {suket.issued_by}")

    url = verify_url(suket, base_url=base_url, secret_key=secret_key)
    qr = QrCodeWidget(url)
    x0, y0, x1, y1 = qr.getBounds()
    size = 40 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, 20 * mm, 25 * mm)
    pdf.setFont("Helvetica", 7)
    pdf.drawString(65 * mm, 45 * mm, "Periksa keaslian surat ini dengan memindai kode QR atau membuka:")
    pdf.drawString(65 * mm, 41 * mm, url[:110])
    pdf.setFont("Helvetica", 10)
    pdf.drawString(width - 80 * mm, 60 * mm, f"{name(resident.regency_code)}, {_date(suket.issued_on)}")
    pdf.drawString(width - 80 * mm, 55 * mm, "KEPALA DINAS DUKCAPIL")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
