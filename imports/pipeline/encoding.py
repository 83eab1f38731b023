"""Guess the text encoding of an uploaded CSV without reading it into memory at once.

Order: byte-order marks first, then a streaming strict UTF-8 check of the whole file, then a
choice among the single-byte code pages Excel writes (Windows, Mac, MS-DOS) by how plausible
the non-ASCII characters look in names.
"""
import codecs
import re
import unicodedata
from dataclasses import dataclass

CHUNK_BYTES = 1 << 20
UTF8, UTF8_BOM, UTF16 = "utf-8", "utf-8-sig", "utf-16"
# On a tie the earlier one wins: cp437 before cp850 because Excel for Mac's "MS-DOS Comma
# Separated" writes cp437, and the two agree on every accented lowercase letter.
SINGLE_BYTE = ("cp1252", "mac_roman", "cp437", "cp850")

_HIGH_BYTES = re.compile(rb"[\x80-\xff]+")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SNIPPET_CONTEXT = 40  # bytes either side of a non-ASCII run, enough to see the word it sits in
_SNIPPET_BUDGET = 64 * 1024
# Letters that are common in names in the languages of these code pages; a wrong code page
# usually turns them into rarer letters, symbols or box-drawing characters.
_COMMON_LETTERS = set("áéíóúàèìòùäëïöüñçøåæœßãõÁÉÍÓÚÀÈÖÜÄÑÇØÅ")
_QUOTES_AND_DASHES = set("\u2018\u2019\u201c\u201d\u2013\u2014\u00ab\u00bb\u2026\u2022\u00a0")


class EncodingProblem(Exception):
    """The file is binary or cannot be decoded; reading.py turns this into a FileReadError."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def detect_encoding(path, head: bytes) -> str:
    """Return the Python codec to read `path` with; `head` is the file's first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        if _first_decode_error(path, UTF8_BOM) is not None:
            raise EncodingProblem("undecodable", "starts with a UTF-8 marker but is not valid UTF-8 text")
        return UTF8_BOM
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _first_decode_error(path, UTF16) is not None:
            raise EncodingProblem("undecodable", "starts with a UTF-16 (Unicode text) marker but is not valid UTF-16 text")
        return UTF16
    scan = _scan(path)
    if scan.has_nul:
        raise EncodingProblem("binary_file", "is not a CSV file (it contains NUL bytes, so it looks like a binary file)")
    if scan.utf8_ok:
        return UTF8
    candidates = [c for c in SINGLE_BYTE if not (c == "cp1252" and scan.cp1252_undefined)]
    scores = {c: plausibility(scan.snippets.decode(c, errors="replace")) for c in candidates}
    return max(candidates, key=lambda c: (scores[c], -candidates.index(c)))


@dataclass
class _Scan:
    has_nul: bool = False
    utf8_ok: bool = True
    cp1252_undefined: bool = False  # bytes Windows-1252 leaves undefined, so it cannot be that
    snippets: bytes = b""  # the bytes around non-ASCII runs, from anywhere in the file


def _scan(path) -> _Scan:
    """One streaming pass: NUL bytes, strict UTF-8 validity, and snippets around non-ASCII bytes."""
    scan = _Scan()
    decoder = codecs.getincrementaldecoder(UTF8)("strict")
    parts, budget = [], _SNIPPET_BUDGET
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            if b"\x00" in chunk:
                scan.has_nul = True
                return scan
            if chunk.isascii():
                continue
            if scan.utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    scan.utf8_ok = False
            if not scan.cp1252_undefined and _CP1252_UNDEFINED.search(chunk):
                scan.cp1252_undefined = True
            end = 0
            for run in _HIGH_BYTES.finditer(chunk):
                if budget <= 0:
                    break
                if run.start() < end:  # already inside the previous snippet
                    continue
                start, end = max(0, run.start() - _SNIPPET_CONTEXT), run.end() + _SNIPPET_CONTEXT
                parts.append(chunk[start:end])
                budget -= end - start
    if scan.utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.utf8_ok = False
    scan.snippets = b"\n".join(parts)
    return scan


def _first_decode_error(path, encoding: str) -> UnicodeDecodeError | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return exc
    return None


def plausibility(text: str) -> int:
    """Score how much the non-ASCII characters of `text` look like letters in names (higher is better)."""
    score = 0
    for match in _NON_ASCII.finditer(text):
        i = match.start()
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        score += _char_score(text[i], prev, nxt)
    return score


def _char_score(c: str, prev: str, nxt: str) -> int:
    category = unicodedata.category(c)
    if category[0] == "L":
        if "LATIN" not in unicodedata.name(c, "") or c == "ƒ":
            return -3  # Greek, ordinal indicators, micro sign: a misread MS-DOS or Mac byte
        if c.isupper() and prev.isalpha() and prev.islower():
            return -3  # "JosÈ": an accented capital inside a lowercase word
        if c.islower() and prev.isupper() and nxt.isupper():
            return -2  # "OíBrien": a curly apostrophe misread as a letter
        return 2 if c in _COMMON_LETTERS else 1
    if c in _QUOTES_AND_DASHES:
        if c == "\u2019" and prev.isalpha() and nxt.isalpha():
            return 2  # "O’Brien", "D’Angelo": Word and Excel curl the apostrophe
        return -2 if prev.isalpha() and nxt.isalpha() else 0  # "Smith – Jones" is fine, "Nœ–ez" is not
    if 0x2500 <= ord(c) <= 0x259F or category in ("Cc", "Cf", "Co", "Cn"):
        return -5  # box drawing, shading blocks, control characters
    if category in ("Sk", "Sm"):
        return -3  # a lone diacritic (˙ ¨ ´) or a math sign (± ÷ √)
    return -2 if prev.isalpha() or nxt.isalpha() else -1
