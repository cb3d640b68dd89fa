"""Bytes to text: BOMs, UTF-16, legacy encodings, and a clear 'this is binary'."""

from __future__ import annotations

import codecs

from rag.errors import IngestError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def decode(data: bytes) -> str:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return _clean(data.decode(enc, errors="replace"))
    sample = data[:65536]
    if _looks_utf16(sample):
        return _clean(data.decode("utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be", errors="replace"))
    if sample.count(0) > max(1, len(sample) // 100):
        raise IngestError("binary data, not text")
    try:
        return _clean(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise IngestError("binary data or unknown text encoding")
    text = data.decode(best.encoding, errors="replace")
    if _control_ratio(text) > 0.05:
        raise IngestError("binary data, not text")
    return _clean(text)


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a BOM: mostly ASCII with every other byte zero."""
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return (odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.1 * len(even)) or (
        even.count(0) > 0.8 * len(even) and odd.count(0) < 0.1 * len(odd)
    )


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return bad / max(1, len(sample))


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if _control_ratio(text) > 0.05:
        raise IngestError("binary data, not text")
    return text
