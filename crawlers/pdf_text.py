"""Text of a PDF (resolution agreements, notices of proposed determination) with pypdf.

Only reads what the file says: its metadata title and the text layer of each page, in page order.
Scanned PDFs without a text layer give empty text; that is reported as such, not guessed at.
Bytes that are not a PDF (an HTML block page served at a .pdf address) or a PDF pypdf cannot read raise
`PdfError`, whose message says which, so that the caller can record it and go on with the next file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError


@dataclass(frozen=True)
class PdfText:
    title: str | None  # the document information /Title, when the file sets one
    text: str  # page texts joined by a blank line, whitespace inside lines collapsed
    pages: int


class PdfError(ValueError):
    """The bytes are not a readable PDF; the message says why."""


def read_pdf(data: bytes) -> PdfText:
    """Extract the title and text of the PDF in `data`; PdfError when it is not one or cannot be read."""
    if not data.lstrip().startswith(b"%PDF"):
        raise PdfError(f"not a PDF: the {len(data)} bytes start with {data.lstrip()[:40]!r}")
    try:
        return _read(data)
    # pypdf raises its own errors on most broken files, and a few built-in ones on badly broken objects.
    except (PyPdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise PdfError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc


def _read(data: bytes) -> PdfText:
    reader = PdfReader(io.BytesIO(data))
    pages = [_clean(page.extract_text() or "") for page in reader.pages]
    meta = reader.metadata
    title = _clean(meta.title) if meta is not None and meta.title else None
    return PdfText(title=title or None, text="\n\n".join(p for p in pages if p), pages=len(pages))


def _clean(text: str) -> str:
    # Keep line breaks (they separate headings and numbered paragraphs) but not ragged spacing.
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
