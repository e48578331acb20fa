"""The XML parts of an XLSX workbook, parsed with expat as they decompress, under limits: no DTD (so no entity
expansion, internal or external), bounded nesting, bounded tags and texts. The archive's declared sizes are
checked before any part is read; shared strings are kept in a temporary file, 8 bytes of memory each."""

from __future__ import annotations

import array
import functools
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.parsers import expat

from recaudo_common.files import FileFormatError

EXCEL_CELL_CHARS = 32_767  # the most text one cell can hold in Excel
MAX_TAG_BYTES = 4 * 1024 * 1024  # expat holds a whole tag (with its attributes) until it ends
FEED = 64 * 1024


@dataclass(frozen=True)
class XlsxLimits:
    """What a workbook may cost. The defaults hold a million-row portfolio with room to spare."""

    max_uncompressed: int = 4 * 1024**3  # all parts together, as they would expand
    max_ratio: float = 200.0  # expansion over compressed size (checked past 10 MiB)
    max_cells: int = 50_000_000  # cells in the sheet, declared (its dimension) or present
    max_shared_strings: int = 5_000_000
    max_sheets: int = 256
    max_parts: int = 10_000
    max_depth: int = 64  # XML nesting; a real part is under 10 deep
    door_scan_bytes: int = 16 * 1024 * 1024  # a file this small is read whole before it is accepted (a second)


def refused(code: str, detail: str) -> FileFormatError:
    return FileFormatError(code, detail)


def small_int(raw: str, digits: int) -> int | None:
    """An unsigned decimal of at most `digits` ASCII digits, else None (int() would take '²' or a million digits)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= digits else None


# --- the archive and its parts ---------------------------------------------------------------------------------

def check_archive(archive: zipfile.ZipFile, limits: XlsxLimits) -> None:
    """Refuses archives whose parts are too many or would expand too far (zip bombs), from the central
    directory alone. Reading a part never yields more than its declared size (zipfile stops there)."""
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        raise refused("xlsx_too_large", f"the workbook has {len(infos)} parts; at most {limits.max_parts}")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > limits.max_uncompressed or (total > 10 * 1024 * 1024 and total / packed > limits.max_ratio):
        raise refused("xlsx_too_large",
                       f"the workbook expands to {total} bytes ({total / packed:.0f}x): refused as a zip bomb")


def open_archive(source: Path | IO[bytes]) -> zipfile.ZipFile:
    """The workbook's archive, from a spooled file or one held in memory (a small file read whole)."""
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise refused("invalid_xlsx", "the file is not a valid XLSX workbook") from exc


class Part:
    """One XML part parsed as it decompresses. Subclasses handle start, end and text (local names, no
    namespace), and may set `done` to stop reading early."""

    def __init__(self, name: str, limits: XlsxLimits) -> None:
        self.name, self.limits = name, limits
        self.depth, self.fed, self.heard = 0, 0, 0
        self.done = False
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser = parser

    def _doctype(self, *_: object) -> None:
        raise refused("xlsx_dtd_refused", f"{self.name} declares a DTD or entities, which no workbook needs")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if self.done:  # the rest of the chunk that held the end of what was wanted
            return
        self.depth += 1
        self.heard = self.fed
        if self.depth > self.limits.max_depth:
            raise refused("xlsx_too_deep", f"{self.name} nests elements deeper than {self.limits.max_depth}")
        self.start(name.rpartition(" ")[2], attrs)

    def _end(self, name: str) -> None:
        if self.done:
            return
        self.depth -= 1
        self.heard = self.fed
        self.end(name.rpartition(" ")[2])

    def _text(self, data: str) -> None:
        if self.done:
            return
        self.heard = self.fed
        self.text(data)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass

    def feed(self, archive: zipfile.ZipFile) -> Iterator[None]:
        """Parses the part chunk by chunk, pausing after each (the caller drains what the handlers collected)."""
        try:
            with archive.open(self.name) as stream:
                while not self.done and (chunk := stream.read(FEED)):
                    self.fed += len(chunk)
                    self.parser.Parse(chunk, False)
                    if self.fed - self.heard > MAX_TAG_BYTES:
                        raise refused("xlsx_too_large",
                                       f"{self.name} has a tag or comment longer than {MAX_TAG_BYTES} bytes")
                    yield
                if not self.done:
                    self.parser.Parse(b"", True)
                    yield
        except expat.ExpatError as exc:
            raise refused("invalid_xlsx", f"{self.name} is not well-formed XML ({expat.ErrorString(exc.code)}, "
                                           f"line {exc.lineno})") from exc
        except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                OSError, ValueError) as exc:  # a missing or corrupt part, or an encrypted or exotic one
            raise refused("invalid_xlsx", f"{self.name} cannot be read: {type(exc).__name__}") from exc

    def read(self, archive: zipfile.ZipFile) -> None:
        for _ in self.feed(archive):
            pass


def _attr(attrs: dict[str, str], local: str) -> str | None:
    """An attribute by its local name, whatever its namespace (r:id)."""
    if local in attrs:
        return attrs[local]
    for key, value in attrs.items():
        if key.rpartition(" ")[2] == local:
            return value
    return None


class TextPart(Part):
    """A part whose elements hold text (a cell's value, a shared string): it gathers the text while `capture` is
    set, never more than one Excel cell can hold; `phonetic` counts the open phonetic readings (`rPh`), whose text
    is not the cell's."""

    def __init__(self, name: str, limits: XlsxLimits) -> None:
        super().__init__(name, limits)
        self.parts: list[str] = []
        self.chars = 0
        self.capture = False
        self.phonetic = 0

    def text_holder(self) -> str:
        """What holds the text being gathered, for a refusal ("a shared string")."""
        raise NotImplementedError

    def text(self, data: str) -> None:
        if self.capture:
            self.chars += len(data)
            if self.chars > EXCEL_CELL_CHARS:
                raise refused("xlsx_string_too_long",
                              f"{self.text_holder()} is longer than Excel's {EXCEL_CELL_CHARS} characters")
            self.parts.append(data)


class Relationships(Part):
    def __init__(self, name: str, limits: XlsxLimits) -> None:
        super().__init__(name, limits)
        self.targets: dict[str, tuple[str, str]] = {}  # id -> (type's last word, part name)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name != "Relationship" or len(self.targets) >= self.limits.max_parts:
            return
        rid, kind, target = attrs.get("Id"), attrs.get("Type", ""), attrs.get("Target", "")
        if rid and target and len(target) < 1024 and attrs.get("TargetMode") != "External":
            base = posixpath.dirname(self.name.replace("_rels/", "").removesuffix(".rels"))
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            self.targets[rid] = (kind.rpartition("/")[2], part)

    def of_kind(self, kind: str) -> str | None:
        return next((part for k, part in self.targets.values() if k == kind), None)


class WorkbookIndex(Part):
    def __init__(self, name: str, limits: XlsxLimits) -> None:
        super().__init__(name, limits)
        self.sheets: list[tuple[str, str]] = []  # (name, relationship id)
        self.date1904 = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "sheet":
            if len(self.sheets) >= self.limits.max_sheets:
                raise refused("xlsx_too_many_sheets", f"the workbook has more than {self.limits.max_sheets} sheets")
            title, rid = attrs.get("name", ""), _attr(attrs, "id") or ""
            if len(title) > 31:  # Excel's own limit
                raise refused("invalid_xlsx", "a sheet name is longer than 31 characters")
            self.sheets.append((title, rid))
        elif name == "workbookPr":
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


# Built-in number formats that show dates (ECMA-376 §18.8.30, with the East Asian ones Excel also uses).
_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_NOT_DATE_TOKENS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]')


def is_date_format(code: str) -> bool:
    """Whether a custom number format shows a date (quoted text, escapes and [colours] aside)."""
    return bool(re.search(r"[dmy]", _NOT_DATE_TOKENS.sub("", code), re.IGNORECASE))


class Styles(Part):
    """Which cell styles show a date: the only way to tell a date cell from a number cell."""

    MAX_STYLES = 65_536

    def __init__(self, name: str, limits: XlsxLimits) -> None:
        super().__init__(name, limits)
        self.custom_dates: set[int] = set()
        self.date_styles: list[bool] = []
        self.in_cell_xfs = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "numFmt":
            code, number = attrs.get("formatCode", ""), attrs.get("numFmtId", "")
            fmt = small_int(number, 6)
            if fmt is not None and len(code) <= 255 and len(self.custom_dates) < self.MAX_STYLES and \
                    is_date_format(code):
                self.custom_dates.add(fmt)
        elif name == "cellXfs":
            self.in_cell_xfs = True
        elif name == "xf" and self.in_cell_xfs and len(self.date_styles) < self.MAX_STYLES:
            fmt = small_int(attrs.get("numFmtId", "0"), 6) or 0
            self.date_styles.append(fmt in _DATE_FORMATS or fmt in self.custom_dates)

    def end(self, name: str) -> None:
        if name == "cellXfs":
            self.in_cell_xfs = False
            self.done = True


class SharedStrings(TextPart):
    """The workbook's shared strings, kept in a temporary file; memory holds only their offsets."""

    def __init__(self, name: str, limits: XlsxLimits, store: IO[bytes]) -> None:
        super().__init__(name, limits)
        self.store = store
        self.offsets = array.array("Q", [0])
        self.declared: int | None = None
        self.lookup = functools.lru_cache(maxsize=8192)(self._lookup)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "t":
            self.capture = self.phonetic == 0
        elif name == "si":
            self.parts, self.chars = [], 0
        elif name == "rPh":
            self.phonetic += 1  # the phonetic reading of East Asian text is not the cell's text
        elif name == "sst":
            declared = attrs.get("uniqueCount") or attrs.get("count") or ""
            self.declared = small_int(declared, 19)
            if self.declared is None and declared:
                self.declared = self.limits.max_shared_strings + 1  # a count of 10^40 is still a count
            if self.declared is not None and self.declared > self.limits.max_shared_strings:
                raise refused("xlsx_too_many_strings", f"the workbook declares {self.declared} shared strings; "
                                                        f"at most {self.limits.max_shared_strings}")

    def text_holder(self) -> str:
        return "a shared string"

    def end(self, name: str) -> None:
        if name == "t":
            self.capture = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "si":
            if len(self) >= self.limits.max_shared_strings:
                raise refused("xlsx_too_many_strings",
                               f"the workbook has more than {self.limits.max_shared_strings} shared strings")
            data = "".join(self.parts).encode("utf-8", "surrogatepass")
            self.store.write(data)
            self.offsets.append(self.offsets[-1] + len(data))
            self.parts = []

    def _lookup(self, index: int) -> str:
        start, end = self.offsets[index], self.offsets[index + 1]
        self.store.seek(start)
        return self.store.read(end - start).decode("utf-8", "surrogatepass")

    def get(self, raw: str) -> str:
        index = small_int(raw, 11)
        if index is None or not index < len(self):
            raise refused("invalid_xlsx", f"a cell names shared string {raw[:20]!r}, which the workbook lacks")
        return self.lookup(index)

    def finish(self) -> None:
        self.store.flush()
