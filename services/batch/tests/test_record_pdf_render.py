"""The PDF renderer on a hand-built document: Unicode from the embedded font, wrapped lines,
indented continuation lines, an entry never split between pages, the footer on every page,
the metadata, and the same bytes for the same input."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

from pypdf import PdfReader

from v2v_batch.adapters.pdf.record_pdf import Generated, render_record_pdf
from v2v_batch.application.record_document import Section, TitleBlock

TITLE = TitleBlock(
    "Executed batch record",
    "Batch B-µ-1",
    [("Batch", "B-µ-1"), ("Lot", "not produced"), ("Chain of identity", "CHA1B2C26000123")],
)
# Generated in another zone: the footer and the metadata say it in UTC.
AT = datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=1)))
GENERATED = Generated(at=AT, by="Zoë Łukasiewicz (u-zoe)")
HEADING = "1. Thaw → wash (5 µL at \u221280 °C)"  # a minus sign
LONG = "Viability after wash — as originally entered, " * 8 + "END-OF-LONG-ENTRY"


def entry(i: int) -> str:
    """An entry of two or three lines."""
    return f"Entry {i:03d} at 4 °C ± 2 °C — " + "wrapped words " * 12 + f"end of {i:03d}"


def document(entries: int = 60) -> list[Section]:
    return [
        Section(
            HEADING,
            [
                "Performed by Zoë Łukasiewicz at 2026-11-24T08:00:00+00:00",
                "Viability pct (critical): 66.0 % — changed after original entry",
                "  corrected from 64.0 to 66.0 by u-zoe: recount",
                LONG,
            ],
        ),
        Section("2. Entries", [entry(i) for i in range(entries)]),
        Section("Review by exception", ["Not reviewed."]),
    ]


def pages_of(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [p.extract_text() for p in reader.pages]


def test_unicode_text_wraps_and_every_page_has_its_footer() -> None:
    pdf = render_record_pdf(TITLE, document(), GENERATED)
    assert pdf.startswith(b"%PDF-")
    _, pages = pages_of(pdf)
    assert len(pages) > 2
    text = "\n".join(pages)
    for shown in (
        "Executed batch record",
        "Batch B-µ-1",
        HEADING,
        "Performed by Zoë Łukasiewicz",
        "Entry 059 at 4 °C ± 2 °C",
        "Not reviewed.",
    ):
        assert shown in text, shown
    # A long entry is wrapped onto several lines, none of it lost; an indented line printed.
    assert LONG not in text and LONG in " ".join(text.split())
    assert "corrected from 64.0 to 66.0 by u-zoe: recount" in text
    for n, page in enumerate(pages, 1):
        assert "Batch B-µ-1" in page
        assert "Generated at 2026-11-24 08:30:00 UTC by Zoë Łukasiewicz (u-zoe)" in page
        assert f"Page {n} of {len(pages)}" in page
    # An entry is never split between two pages: each is whole on one.
    flat = [" ".join(p.split()) for p in pages]
    for i in range(60):
        assert any(entry(i) in page for page in flat), i


def test_the_fonts_are_embedded_and_the_metadata_set() -> None:
    reader, _ = pages_of(render_record_pdf(TITLE, document(3), GENERATED))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(fonts[f].get_object()["/BaseFont"]) for f in fonts}
    assert {n.split("+")[-1] for n in names} == {"DejaVuSansBook", "DejaVuSansBold"}
    for f in fonts:
        [descendant] = fonts[f].get_object()["/DescendantFonts"]
        assert "/FontFile2" in descendant.get_object()["/FontDescriptor"]  # embedded
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Executed batch record — Batch B-µ-1"
    assert meta.creator == "vein2vein"
    assert meta.creation_date == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def test_the_same_document_and_generation_give_the_same_bytes() -> None:
    first = render_record_pdf(TITLE, document(), GENERATED)
    assert render_record_pdf(TITLE, document(), GENERATED) == first
    later = Generated(at=AT + timedelta(seconds=1), by=GENERATED.by)
    assert render_record_pdf(TITLE, document(), later) != first
