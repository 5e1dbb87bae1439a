"""The executed batch record as a PDF (EU GMP Annex 11 §8: a clear printed copy), laid out
with fpdf2: A4, the title block, each section under its heading, every line wrapped, and on
every page which record it is, when and by whom it was generated, and "Page n of N".

DejaVu Sans is embedded from the package (fonts/, with its licence), so names, "—", "→",
"µ" and "°C" print the same whatever fonts the host has. The output depends only on its
input: the creation date is the generation time given (the service's clock), no other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos

from ...application.record_document import Section, TitleBlock

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVuSans"
CREATOR = "vein2vein"

LINE = 4.6  # mm: one line of 9 pt text
GAP = 0.8  # mm between two entries, so an entry's wrapped lines read as one
INDENT = 6.0  # mm per two leading spaces (a correction under its value, a signature ...)
LABEL_WIDTH = 45.0  # mm: the title block's labels


@dataclass(frozen=True)
class Generated:
    """When (the server's UTC time) and by whom the copy was made."""

    at: datetime
    by: str

    def line(self) -> str:
        at = self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"Generated at {at} UTC by {self.by}"


class _RecordPdf(FPDF):
    def __init__(self, reference: str, generated: Generated) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.reference = reference
        self.generated = generated
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(left=18, top=18, right=18)
        self.set_auto_page_break(auto=True, margin=22)

    def header(self) -> None:
        self.set_font(FAMILY, "", 8)
        self.set_y(9)
        self.cell(self.epw / 2, 4, self.reference, align=Align.L)
        self.cell(self.epw / 2, 4, "Executed batch record", align=Align.R)
        self.line(self.l_margin, 14, self.w - self.r_margin, 14)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_font(FAMILY, "", 8)
        self.set_y(-17)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_y(-16)
        self.multi_cell(0, 3.8, self.generated.line(), align=Align.L)
        self.cell(0, 3.8, f"Page {self.page_no()} of {{nb}}", align=Align.R)

    def height_of(self, text: str, width: float) -> float:
        height = self.multi_cell(
            width, LINE, text, align=Align.L, dry_run=True, output=MethodReturnValue.HEIGHT
        )
        assert isinstance(height, float | int)
        return float(height)

    def ensure_room(self, height: float) -> None:
        """A new page unless ``height`` fits: an entry is never split between two pages."""
        if self.will_page_break(height):
            self.add_page()

    def title_block(self, title: TitleBlock) -> None:
        self.set_font(FAMILY, "B", 16)
        self.multi_cell(0, 8, title.title, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        for label, value in title.fields:
            self.set_font(FAMILY, "B", 10)
            self.cell(LABEL_WIDTH, 5.5, label)
            self.set_font(FAMILY, "", 10)
            self.multi_cell(0, 5.5, value, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def section(self, section: Section) -> None:
        self.set_font(FAMILY, "B", 11)
        heading = self.height_of(section.title, self.epw) * 11 / 9
        first = section.lines[0] if section.lines else ""
        self.set_font(FAMILY, "", 9)
        # the heading stays with its first line
        self.ensure_room(heading + 2 + self.height_of(first.lstrip(), self.epw))
        self.set_font(FAMILY, "B", 11)
        self.multi_cell(0, 5.6, section.title, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.set_font(FAMILY, "", 9)
        for line in section.lines:
            self.entry(line)
        self.ln(3)

    def entry(self, line: str) -> None:
        text = line.lstrip(" ")
        indent = INDENT * ((len(line) - len(text)) // 2)
        width = self.epw - indent
        self.ensure_room(self.height_of(text, width))
        self.set_x(self.l_margin + indent)
        self.multi_cell(width, LINE, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(GAP)


def render_record_pdf(
    title: TitleBlock, sections: Sequence[Section], generated: Generated
) -> bytes:
    """The record's PDF: the same bytes for the same document and generation."""
    pdf = _RecordPdf(title.reference, generated)
    pdf.set_title(f"{title.title} — {title.reference}")
    pdf.set_subject(title.reference)
    pdf.set_creator(CREATOR)
    pdf.set_lang("en")
    pdf.set_creation_date(generated.at.astimezone(UTC))
    pdf.add_page()
    pdf.title_block(title)
    for section in sections:
        pdf.section(section)
    return bytes(pdf.output())
