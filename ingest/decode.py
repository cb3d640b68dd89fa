"""Bytes to text: BOMs, UTF-16/32, UTF-8, legacy encodings, and a clear 'this is binary'.

Order: a BOM decides; UTF-16 without a BOM is recognised by its zero bytes;
stray NUL bytes are dropped (trailing NUL padding is common in files cut short
by a crash) but a file that is mostly NULs is binary; strict UTF-8 next; then
Windows-1252 for mostly-ASCII Western text (charset detectors often mistake it
for Central European code pages, turning "niño" into "nińo"); anything else
goes to charset-normalizer on a bounded sample. Text with many control
characters is binary whatever the decoder says.
"""

from __future__ import annotations

import codecs
import logging

from core.errors import IngestError

log = logging.getLogger(__name__)

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
SAMPLE = 65536
MAX_NUL_SHARE = 0.10  # more NUL bytes than this (and not UTF-16) is binary
MAX_CONTROL_SHARE = 0.05
MAX_NON_ASCII_WESTERN = 0.25  # Western text in a legacy code page is mostly ASCII
DETECT_BYTES = 200_000  # charset-normalizer reads at most this much


def decode(data: bytes) -> str:
    """The text of `data`; raises IngestError for binary data or an unknown encoding."""
    return detect(data)[0]


def detect(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of `data`."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return _clean(data.decode(enc, errors="replace")), enc
    sample = data[:SAMPLE]
    if (utf16 := _utf16_order(sample)) is not None:
        return _clean(data.decode(utf16, errors="replace")), utf16
    if b"\x00" in data:
        data = data.rstrip(b"\x00")
        sample = data[:SAMPLE]
        if sample.count(0) > MAX_NUL_SHARE * max(1, len(sample)):
            raise IngestError("binary data, not text")
        data = data.replace(b"\x00", b"")
        sample = data[:SAMPLE]
    try:
        return _clean(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    enc = _legacy_encoding(sample, data)
    return _clean(data.decode(enc, errors="replace")), enc


def _legacy_encoding(sample: bytes, data: bytes) -> str:
    non_ascii = sum(1 for b in sample if b >= 0x80)
    if non_ascii <= MAX_NON_ASCII_WESTERN * max(1, len(sample)):
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            # 0x81 0x8D 0x8F 0x90 0x9D are unassigned in cp1252; Latin-1 maps every byte
            if _control_share(sample.decode("latin-1")) <= MAX_CONTROL_SHARE:
                return "latin-1"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_BYTES]).best()
    if best is None:
        raise IngestError("binary data or an unknown text encoding (save it as UTF-8)")
    log.debug("charset-normalizer chose %s", best.encoding)
    return str(best.encoding)


def _utf16_order(sample: bytes) -> str | None:
    """UTF-16 without a BOM: mostly ASCII with every other byte zero."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.8 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _control_share(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    return bad / max(1, len(sample))


def _clean(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise IngestError("binary data, not text")
    return text
