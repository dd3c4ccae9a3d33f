"""Text of a PDF (resolution agreements, notices of proposed determination) with pypdf.

Only reads what the file says: its metadata title and the text layer of each page, in page order.
Scanned PDFs without a text layer give empty text; that is reported as such, not guessed at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader


@dataclass(frozen=True)
class PdfText:
    title: str | None  # the document information /Title, when the file sets one
    text: str  # page texts joined by a blank line, whitespace inside lines collapsed
    pages: int


def read_pdf(data: bytes) -> PdfText:
    """Extract the title and text of the PDF in `data`; raises pypdf's errors on a broken file."""
    reader = PdfReader(io.BytesIO(data))
    pages = [_clean(page.extract_text() or "") for page in reader.pages]
    meta = reader.metadata
    title = _clean(meta.title) if meta is not None and meta.title else None
    return PdfText(title=title or None, text="\n\n".join(p for p in pages if p), pages=len(pages))


def _clean(text: str) -> str:
    # Keep line breaks (they separate headings and numbered paragraphs) but not ragged spacing.
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
