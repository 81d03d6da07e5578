"""Opening a CSV file the way a person hands it over: any encoding, any delimiter.

:func:`inspect_csv` looks at the whole file once (its size against the limit, a SHA-256 so a
resumed import knows it is the same file, which encodings decode all of it) and at its head
(binary formats that are not CSV, the delimiter, the header). :class:`RecordReader` then
streams records from a byte offset and keeps the offset after each record, which is what an
import stores to resume after its last committed batch.

Encodings: a BOM decides (UTF-8, UTF-16); otherwise UTF-8 if every byte decodes as UTF-8,
else Windows-1252 (what Excel writes in Western locales), else Latin-1. Other legacy encodings
(Windows-1250, Mac Roman…) are named with ``encoding=``: we measured charset-normalizer on
short French Windows-1252 files and it answered cp1250, which would corrupt accents, so Kith
does not guess beyond the rule above. UTF-16 files are transcoded to a UTF-8 copy first.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FieldError, KithError

SNIFF_BYTES = 64 * 1024
CHUNK = 1024 * 1024
DELIMITERS = ",;\t|"
MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3", "a SQLite database"),
    (b"PGDMP", "a PostgreSQL dump"),
]
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}


def not_csv(path: Path, why: str) -> KithError:
    message = f"{path.name} is not a CSV file: {why}."
    return KithError("not_csv", message, [FieldError("file", message, "not_csv")])


@dataclass
class CsvInfo:
    """What :func:`inspect_csv` learned about a file."""

    path: Path
    size: int
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]
    data_offset: int
    bom: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        label = ENCODING_NAMES.get(self.encoding, self.encoding)
        return f"{label} with BOM" if self.bom else label


def check_size(path: Path, max_bytes: int) -> int:
    """The file's size; a missing file, a folder or a file over the limit is an error."""
    if not path.exists():
        raise KithError("not_found", f"No file {path}", [FieldError("file", "does not exist")])
    if not path.is_file():
        raise KithError(
            "invalid_input", f"{path} is not a file", [FieldError("file", "not a file")]
        )
    size = path.stat().st_size
    if size > max_bytes:
        message = (
            f"{path.name} is {size / 1e6:,.1f} MB; imports are limited to "
            f"{max_bytes / 1e6:,.1f} MB (KITH_IMPORT_MAX_BYTES). Split the file."
        )
        raise KithError("too_large", message, [FieldError("file", message, "too_large")], 413)
    if size == 0:
        raise not_csv(path, "it is empty")
    return size


def _scan(path: Path, candidates: list[str]) -> tuple[str, list[str]]:
    """SHA-256 of the file and which of ``candidates`` decode all of it."""
    digest = hashlib.sha256()
    decoders = {c: codecs.getincrementaldecoder(c)() for c in candidates}
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            for name in list(decoders):
                try:
                    decoders[name].decode(chunk)
                except UnicodeDecodeError:
                    del decoders[name]
    for name in list(decoders):
        try:
            decoders[name].decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    return digest.hexdigest(), [c for c in candidates if c in decoders]


def _transcode_utf16(path: Path, work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / f"{path.stem}.utf8{path.suffix or '.csv'}"
    with (
        path.open(encoding="utf-16", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    return target


def _sniff_delimiter(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and counts.get(sniffed, 0) > 0:
        return sniffed
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def inspect_csv(
    path: Path,
    *,
    max_bytes: int,
    work_dir: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> CsvInfo:
    """Check ``path`` and learn how to read it (see the module's docstring)."""
    size = check_size(path, max_bytes)
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        path = _transcode_utf16(path, work_dir)
        info = inspect_csv(
            path,
            max_bytes=max(max_bytes, path.stat().st_size),
            work_dir=work_dir,
            delimiter=delimiter,
        )
        info.notes.append("the file is UTF-16; it was read from a UTF-8 copy")
        return info
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise not_csv(path, f"it is {what}; save it as CSV first")
    if b"\x00" in head:
        raise not_csv(path, "it holds binary data")
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        raise not_csv(path, "it looks like JSON; export CSV instead")
    if stripped[:14].lower().startswith((b"<!doctype", b"<html", b"<?xml")):
        raise not_csv(path, "it looks like HTML or XML; export CSV instead")
    if b"\r" in head and b"\n" not in head:
        raise not_csv(path, "its lines end with CR only (old Mac format); save it again as CSV")
    bom = head.startswith(codecs.BOM_UTF8)
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise KithError(
                "invalid_input",
                f"encoding: {encoding!r} is not an encoding Python knows (e.g. cp1250)",
                [FieldError("encoding", "unknown encoding")],
            ) from None
        sha, ok = _scan(path, [encoding])
        if not ok:
            raise KithError(
                "invalid_input",
                f"encoding: {path.name} does not decode as {encoding}",
                [FieldError("encoding", f"the file does not decode as {encoding}")],
            )
    else:
        sha, ok = _scan(path, ["utf-8", "cp1252"])
        encoding = ok[0] if ok else "latin-1"
    if encoding in ("utf-8", "utf_8") or encoding.startswith("utf-8"):
        encoding = "utf-8"
    start = len(codecs.BOM_UTF8) if bom else 0
    sample = head[start:]
    cut = sample.rfind(b"\n")
    if cut > 0 and len(head) == SNIFF_BYTES:
        sample = sample[: cut + 1]
    text = sample.decode(encoding, errors="replace")
    delimiter = delimiter or _sniff_delimiter(text)
    reader = RecordReader(path, encoding, delimiter, start)
    try:
        header = next(reader)
    except StopIteration:
        raise not_csv(path, "it has no header row") from None
    except csv.Error as exc:
        raise not_csv(path, f"its header row cannot be read ({exc})") from None
    finally:
        reader.close()
    header = _clean_header(header)
    if not any(header):
        raise not_csv(path, "its header row is empty")
    return CsvInfo(path, size, sha, encoding, delimiter, header, reader.offset, bom)


def _clean_header(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, name in enumerate(header):
        name = name.strip().lstrip("\ufeff").strip() or f"column {i + 1}"
        n = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = n
        out.append(name if n == 1 else f"{name} ({n})")
    return out


def file_sha256(path: Path) -> str:
    return _scan(path, [])[0]


class RecordReader:
    """CSV records from byte ``offset`` on; ``offset`` is always just after the last record
    returned (the csv module pulls one line at a time and never reads ahead)."""

    def __init__(self, path: Path, encoding: str, delimiter: str, offset: int) -> None:
        self.encoding = encoding
        self.offset = offset
        self._file = path.open("rb")
        self._file.seek(offset)
        self._reader = csv.reader(self._lines(), delimiter=delimiter)

    def _lines(self) -> Iterator[str]:
        decode = self.encoding
        for raw in self._file:
            self.offset += len(raw)
            yield raw.decode(decode)

    def __iter__(self) -> RecordReader:
        return self

    def __next__(self) -> list[str]:
        return next(self._reader)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
