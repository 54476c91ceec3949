"""What a spreadsheet may unpack to (解压上限), checked before any library unpacks it.

An XLSX is a zip of XML parts. A 2.8 MB workbook whose shared strings unpack to 600 MB took the server
from 710 MB to 1.9 GB: python-calamine (like openpyxl) holds the whole sheet, and its shared strings,
in memory. So before the reader sees a spreadsheet we:

1. read the zip's central directory (sizes only, nothing unpacked) and refuse a workbook whose parts
   would unpack to more than `import_max_unpacked_mb` in all, whose shared strings alone exceed
   `import_max_shared_strings_mb`, or whose large parts compress more than `import_max_ratio` times
   (a bomb, not a table);
2. stream the shared strings and every worksheet through Python's `zipfile`, a bounded buffer at a
   time, counting rows, cells and the widest column. `zipfile` never inflates a part past the size its
   directory declares and checks its CRC, so a directory that lies about sizes is refused here rather
   than believed by the reader. The sheet's declared `<dimension>` is held to the same limits (a
   reader may size its grid from it).

Every refusal is an `UnusableFile` whose message names the limit, its setting and the figure found.
Plain CSV needs none of this: it is read as a stream (see `tabular`), a bounded batch of rows at a time.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fangkong.kernel.messages import Message, _, message

MB = 1024 * 1024
#: parts smaller than this may compress as well as they like (an empty styles.xml compresses 50×)
RATIO_FLOOR = 1 * MB
READ_BLOCK = 1 * MB

TOO_BIG_UNPACKED = message("file.limit_unpacked", _(
    "the workbook unpacks to %(found)s MB, more than the limit of %(limit)s MB (FANGKONG_IMPORT_MAX_UNPACKED_MB)"))
TOO_BIG_SHARED = message("file.limit_shared_strings", _(
    "the workbook's shared strings unpack to %(found)s MB, more than the limit of %(limit)s MB "
    "(FANGKONG_IMPORT_MAX_SHARED_STRINGS_MB)"))
TOO_COMPRESSED = message("file.limit_ratio", _(
    "part %(part)s of the workbook is compressed %(found)s times, more than the limit of %(limit)s "
    "(FANGKONG_IMPORT_MAX_RATIO): not an ordinary spreadsheet"))
TOO_MANY_ROWS = message("file.limit_rows", _(
    "the workbook has %(found)s rows, more than the limit of %(limit)s (FANGKONG_IMPORT_MAX_ROWS); "
    "split it or save it as CSV"))
TOO_MANY_CELLS = message("file.limit_cells", _(
    "the workbook has %(found)s cells, more than the limit of %(limit)s (FANGKONG_IMPORT_MAX_CELLS); "
    "split it or save it as CSV"))
TOO_MANY_COLUMNS = message("file.limit_columns", _(
    "the workbook has %(found)s columns, more than the limit of %(limit)s (FANGKONG_IMPORT_MAX_COLUMNS)"))
BAD_ZIP = message("file.bad_zip", _("the workbook is not a readable zip file: %(error)s"))


@dataclass(frozen=True)
class Limits:
    """The limits in force (from settings: `Limits.current()`)."""

    unpacked_mb: int
    shared_strings_mb: int
    ratio: int
    rows: int
    cells: int
    columns: int

    @classmethod
    def current(cls) -> Limits:
        from fangkong.settings import get_settings

        s = get_settings()
        return cls(s.import_max_unpacked_mb, s.import_max_shared_strings_mb, s.import_max_ratio,
                   s.import_max_rows, s.import_max_cells, s.import_max_columns)


class LimitExceeded(Exception):
    """A spreadsheet beyond a limit: `message` names it (tabular turns this into UnusableFile)."""

    def __init__(self, msg: Message) -> None:
        super().__init__(msg)
        self.message = msg


#: a cell reference's column letters: r="AB12" (a row's r="12" has no letters); a literal start, so fast
_CELL_REF = re.compile(rb'r="([A-Z]{1,7})[0-9]')
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref="([A-Z]{0,7})([0-9]*)(?::([A-Z]{1,7})([0-9]+))?"')


def column_number(letters: bytes | str) -> int:
    """`A` → 1, `Z` → 26, `AA` → 27."""
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _mb(n: int) -> float:
    return round(n / MB, 1)


def check_spreadsheet(path: Path, limits: Limits | None = None) -> None:
    """Refuse a zipped spreadsheet (XLSX, XLSM, ODS …) beyond the limits, before any reader unpacks it.
    Not a zip (XLS, CSV): nothing to check. Raises LimitExceeded."""
    limits = limits or Limits.current()
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            _check_directory(zf, limits)
            _check_parts(zf, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise LimitExceeded(BAD_ZIP(error=str(exc) or type(exc).__name__)) from None


def _check_directory(zf: zipfile.ZipFile, limits: Limits) -> None:
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size >= RATIO_FLOOR and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise LimitExceeded(TOO_COMPRESSED(part=info.filename[:80], limit=limits.ratio,
                                               found=info.file_size // max(info.compress_size, 1)))
        if _is_shared_strings(info.filename) and info.file_size > limits.shared_strings_mb * MB:
            raise LimitExceeded(TOO_BIG_SHARED(found=_mb(info.file_size), limit=limits.shared_strings_mb))
    if total > limits.unpacked_mb * MB:
        raise LimitExceeded(TOO_BIG_UNPACKED(found=_mb(total), limit=limits.unpacked_mb))


def _is_shared_strings(name: str) -> bool:
    return name.lower().rsplit("/", 1)[-1] in ("sharedstrings.xml", "sharedstrings.bin")


def _is_sheet(name: str) -> bool:
    low = name.lower()
    return low.startswith("xl/worksheets/") and low.endswith(".xml")


def _check_parts(zf: zipfile.ZipFile, limits: Limits) -> None:
    """Stream every part the reader will unpack (bounded by the declared sizes, CRC-checked), and count
    the worksheets' rows, cells and columns (C-speed counts on each block, cut after its last `>` so
    that no tag straddles two blocks)."""
    rows = cells = widest = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        sheet = _is_sheet(info.filename)
        carry = b""
        first = True
        with zf.open(info) as fh:
            while block := fh.read(READ_BLOCK):
                if not sheet:
                    continue
                buf = carry + block
                cut = buf.rfind(b">") + 1
                buf, carry = buf[:cut], buf[cut:]
                if len(carry) > READ_BLOCK:  # no `>` in a whole block: not a sheet a reader could use
                    raise LimitExceeded(BAD_ZIP(error=f"{info.filename[:80]}: no markup"))
                if first:
                    _check_dimension(buf, limits)
                    first = False
                # upper bounds, one C-speed pass each: `<c` also counts the few <col>, <cfRule> …;
                # `:c` catches cells written with a namespace prefix (<x:c>)
                cells += buf.count(b"<c") + buf.count(b":c")
                rows += buf.count(b"<row") + buf.count(b":row")
                widest = max([widest, *(column_number(c) for c in set(_CELL_REF.findall(buf)))])
                if widest > limits.columns:
                    raise LimitExceeded(TOO_MANY_COLUMNS(found=widest, limit=limits.columns))
                if rows > limits.rows:
                    raise LimitExceeded(TOO_MANY_ROWS(found=f"{rows}+", limit=limits.rows))
                if cells > limits.cells:
                    raise LimitExceeded(TOO_MANY_CELLS(found=f"{cells}+", limit=limits.cells))


def _check_dimension(head: bytes, limits: Limits) -> None:
    m = _DIMENSION.search(head)
    if m is None:
        return
    c0, r0, c1, r1 = m.group(1), m.group(2), m.group(3), m.group(4)
    if c1 is None:
        return  # a single cell
    width = column_number(c1) - column_number(c0 or b"A") + 1
    height = int(r1) - int(r0 or b"1") + 1
    if width > limits.columns:
        raise LimitExceeded(TOO_MANY_COLUMNS(found=width, limit=limits.columns))
    if height > limits.rows:
        raise LimitExceeded(TOO_MANY_ROWS(found=height, limit=limits.rows))
    if width * height > limits.cells:
        raise LimitExceeded(TOO_MANY_CELLS(found=width * height, limit=limits.cells))
