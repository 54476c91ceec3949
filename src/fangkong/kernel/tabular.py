"""Files in, reports out (导入文件与结果报告): the one reader and report writer every `fangkong import`
uses (decisions.md, "Files in, reports out").

`read_table` opens CSV (UTF-8 with or without BOM, GB18030; `,` `;` or tab) or a spreadsheet (XLSX,
XLS, ODS through python-calamine), finds the header row below any title rows by matching the known
column names, and yields `Row`s numbered as the user sees them in Excel or a text editor. Fully blank
rows are skipped silently; summary and note rows (合计/小计/总计, 填表人/审核人/联系电话 footers, 备注 and 注：
notes) are not data: they are never yielded, and `Table.skipped` holds a `skipped` report line for each,
with the reason, which `Table.report` merges into the importer's report in file order. Unknown columns
are kept in `Row.extra`.

`write_report` writes the per-row report: UTF-8 with BOM, first columns `row,status,person_id,issues`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from fangkong.kernel.export import neutralise
from fangkong.kernel.messages import FieldIssue, Message, _, labels, message

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("fangkong.imports")

#: rows searched for the header (title rows, notes and blank rows come first in real files)
HEADER_SEARCH_ROWS = 30
#: bytes read at a time when checking a file's encoding
READ_BLOCK = 1024 * 1024
#: a CSV cell longer than Excel's own limit (32,767 characters) makes the file unusable
MAX_CELL_CHARS = 32_767
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
REPORT_COLUMNS = ["row", "status", "person_id", "issues"]


class UnusableFile(Exception):
    """The file cannot be used at all (missing, unreadable, no recognisable header): store nothing.
    `message` says why (a Message: English in `str()`, the reader's language through `translate`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


CANNOT_DECODE = message("file.cannot_decode", _("cannot decode the file as UTF-8 or GB18030 (byte %(byte)s)"))
CSV_BROKEN = message("file.csv_error", _("line %(line)s: %(error)s"))
NO_SUCH_SHEET = message("file.no_such_sheet", _("no sheet named %(sheet)s (sheets: %(sheets)s)"))
NO_SHEETS = message("file.no_sheets", _("the workbook has no sheets"))
SPREADSHEET_BROKEN = message("file.spreadsheet_error", _("cannot read the spreadsheet: %(error)s"))
NO_SUCH_FILE = message("file.missing", _("no such file: %(path)s"))
CANNOT_READ = message("file.unreadable", _("cannot read %(path)s: %(error)s"))
NO_HEADER = message("file.no_header", _("no recognisable header row (expected columns such as %(columns)s)"))
NO_REQUIRED = message("file.no_required_column", _("none of the required columns found: %(columns)s"))
SUMMARY = message("report.summary", _("%(total)s rows: %(counts)s"))
SUMMARY_EMPTY = message("report.summary_empty", _("%(total)s rows"))
COUNT = message("report.count", _("%(n)s %(status)s"))
labels("report_status", {"accepted": _("accepted"), "duplicate": _("duplicate"), "rejected": _("rejected"),
                         "conflict": _("conflict"), "skipped": _("skipped")})


@dataclass
class Row:
    """One non-blank data row."""

    #: the row number a user sees (spreadsheet row / CSV line, counting title and header rows)
    number: int
    #: canonical field → cleaned text ('' when empty or when the file has no such column)
    values: dict[str, str]
    #: unknown columns by their original header text
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportRow:
    """One line of an import report."""

    row: int
    status: str  # accepted | duplicate | rejected | conflict | skipped
    person_id: int | None = None
    issues: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class ReportLog(Sequence[ReportRow]):
    """The report lines of a big import, in file order, with memory flat in the row count: the first
    `SPILL_AFTER` lines are kept as they are, and once there are more, every line is pickled to an
    anonymous temporary file (unlinked at once, mode 0600) a batch at a time. Read it as a sequence
    (iteration, `len`, indexing); the report writer and the summary iterate it once more from disk.
    An importer working in chunks collects its lines here (`Table.report` hands it back whole)."""

    SPILL_AFTER = 10_000
    BATCH = 1_000

    def __init__(self, rows: Iterable[ReportRow] = ()) -> None:
        self._rows: list[ReportRow] = []
        self._file: Any = None
        self._spilled = 0
        self.extend(rows)

    def extend(self, rows: Iterable[ReportRow]) -> None:
        self._rows.extend(rows)
        if len(self._rows) + self._spilled > self.SPILL_AFTER:
            self._spill()

    def append(self, row: ReportRow) -> None:
        self.extend([row])

    def _spill(self) -> None:
        import pickle
        import tempfile

        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the log)
        self._file.seek(0, io.SEEK_END)
        for i in range(0, len(self._rows), self.BATCH):
            pickle.dump(self._rows[i:i + self.BATCH], self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += len(self._rows)
        self._rows = []

    def __len__(self) -> int:
        return self._spilled + len(self._rows)

    def __iter__(self) -> Iterator[ReportRow]:
        """Every line in order. The lines read from disk are written back as the reader left them (into a
        new file that replaces the old one), so code that changes rows while iterating — as over a
        list, e.g. blanking foreign person ids — changes the log, however big."""
        if self._file is None:
            yield from list(self._rows)
            return
        import pickle
        import tempfile

        old, new = self._file, tempfile.TemporaryFile()  # noqa: SIM115 (replaces the log's file)
        old.seek(0)
        read = 0
        batch: list[ReportRow] | None = None
        try:
            while read < self._spilled:
                batch = pickle.load(old)
                read += len(batch)
                yield from batch
                pickle.dump(batch, new, protocol=pickle.HIGHEST_PROTOCOL)
                batch = None
            yield from list(self._rows)
        finally:  # also when the reader stops early: the rest is copied as it is
            if batch is not None:
                pickle.dump(batch, new, protocol=pickle.HIGHEST_PROTOCOL)
            while read < self._spilled:
                rest = pickle.load(old)
                read += len(rest)
                pickle.dump(rest, new, protocol=pickle.HIGHEST_PROTOCOL)
            old.close()
            self._file = new

    def __getitem__(self, index: int | slice) -> Any:  # type: ignore[override]
        if self._file is None:
            return self._rows[index]
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReportLog | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReportLog({len(self)} rows)"


# -------------------------------------------------------------------------------------------- headers

_NOTE = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")


def header_key(text: str) -> str:
    """Trim, NFKC, casefold; spaces, `_`, `-` and required-field stars dropped ("ID Number*" → "idnumber")."""
    s = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-*:：]+", "", s)


def _alias_map(columns: dict[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canon, aliases in columns.items():
        for alias in [canon, *aliases]:
            out.setdefault(header_key(alias), canon)
    return out


def _match(text: str, aliases: dict[str, str]) -> str | None:
    if not text:
        return None
    key = header_key(text)
    if key in aliases:
        return aliases[key]
    # "身份证号码（必填）", "手机号(11位)": a note in brackets after the name
    bare = header_key(_NOTE.sub("", unicodedata.normalize("NFKC", text)))
    return aliases.get(bare) if bare else None


# ------------------------------------------------------------------------------- summary and note rows

ROW_SUMMARY = message("row.summary", _("a summary row (%(text)s), not data"))
ROW_FOOTER = message("row.footer", _("the form's signature footer (%(text)s), not data"))
ROW_NOTE = message("row.note", _("a note (%(text)s), not data"))

#: a cell that is only a total: 合计, 小 计, 总计：35, 共计35人 (but not 总计路 in an address)
_SUMMARY_ROW = re.compile(r"^(合计|小计|总计|共计|总合计)([:：].*|\d.*|[人名户个条次].*)?$")
#: the first cell of a signature footer: 填表人：王五  审核人：…  联系电话：…
_FOOTER_ROW = re.compile(r"^(填表人|填报人|制表人|审核人|审批人|复核人|负责人|联系人|联系电话|填表日期|填报日期|"
                     r"制表日期|填报时间|填表单位|填报单位|报送单位|单位盖章|签字|盖章)([:：].*)?$")
#: the first cell of a note: 备注：…  注：1. …  说明：…  注意事项
_NOTE_ROW = re.compile(r"^(备注|附注|注意事项|注意|填表说明|说明|注)(\d*[:：、.].*)?$")


def note_row(cells: list[str]) -> Message | None:
    """Why a row under the header is not data (a total, a signature footer, a note), or None.

    A total is any cell that is only 合计/小计/总计/共计 (with a count); a footer or a note is told by
    its first non-empty cell. Pure: cells as the reader cleaned them.
    """
    texts = ["".join(unicodedata.normalize("NFKC", c).split()) for c in cells]
    first = next((t for t in texts if t), "")
    for t in texts:
        if t and len(t) <= 24 and _SUMMARY_ROW.match(t):
            return ROW_SUMMARY(text=t)
    if _FOOTER_ROW.match(first):
        return ROW_FOOTER(text=first[:24])
    if _NOTE_ROW.match(first):
        return ROW_NOTE(text=first[:24])
    return None


# ---------------------------------------------------------------------------------------------- cells

def clean_cell(value: Any) -> str:
    """A cell as text: whole floats as integers (calamine reads 13812345678 as 13812345678.0), dates and
    datetimes in ISO 8601, strings stripped (including U+3000 and no-break spaces) and without NUL
    characters (no meaning in a cell, and PostgreSQL cannot store them in text: the same file must import
    alike on both databases)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T", timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).replace("\x00", "").strip()


# ------------------------------------------------------------------------------------------- sources

def _encoding(path: Path) -> str:
    """The file's encoding, read a block at a time (the whole file is never held): UTF-8 (BOM or not),
    UTF-16 with a BOM, else GB18030 (a superset of GBK and GB2312, what Chinese Excel's "CSV" exports
    write). Raises UnusableFile when neither decodes the whole file."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    error = 0
    for name in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(name)(errors="strict")
        offset = 0
        try:
            with path.open("rb") as fh:
                while block := fh.read(READ_BLOCK):
                    decoder.decode(block)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return name
        except UnicodeDecodeError as exc:
            error = offset + max(exc.start, 0)
    raise UnusableFile(CANNOT_DECODE(byte=error))


def _sniff_delimiter(head: str) -> str:
    """The delimiter among , ; tab that splits most of the first lines into several fields.

    Hand-written: csv.Sniffer guesses wrongly when title rows without delimiters come first.
    """
    best, best_score = ",", -1
    for delim in (",", "\t", ";"):
        try:
            rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=delim))
        except csv.Error:  # a field past the csv module's limit: reading the file will say so
            continue
        widths = Counter(len(r) for r in rows if len(r) > 1)
        score = max(widths.values(), default=0) * 1000 + sum(widths.values())
        if score > best_score:
            best, best_score = delim, score
    return best


class _CsvSource:
    """A CSV read as a stream: one pass at opening checks it decodes and parses to the end and counts
    its records (so a broken line refuses the file before anything is stored), then `rows()` reads it
    again, a record at a time. Memory stays flat in the file's length."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding = _encoding(path)
        with self._open() as fh:
            head = "".join(line for _, line in zip(range(60), fh, strict=False))
        self.delimiter = _sniff_delimiter(head)
        self.records = sum(1 for _ in self._records())

    def _open(self) -> io.TextIOWrapper:
        return self.path.open(encoding=self.encoding, newline="", errors="strict")

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        with self._open() as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            line = 0
            try:
                for rec in reader:
                    if any(len(cell) > MAX_CELL_CHARS for cell in rec):
                        raise csv.Error(f"a field longer than {MAX_CELL_CHARS} characters")
                    yield line + 1, rec
                    line = reader.line_num
            except csv.Error as exc:
                raise UnusableFile(CSV_BROKEN(line=line + 1, error=str(exc))) from None
            except UnicodeDecodeError as exc:  # the file changed since it was checked
                raise UnusableFile(CANNOT_DECODE(byte=exc.start)) from None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        yield from self._records()


class _Sheet:
    def __init__(self, path: Path, sheet: str | None) -> None:
        from python_calamine import CalamineWorkbook

        from fangkong.kernel.unpack_limits import LimitExceeded, check_spreadsheet

        try:
            check_spreadsheet(path)  # before calamine unpacks anything
        except LimitExceeded as exc:
            raise UnusableFile(exc.message) from None
        try:
            wb = CalamineWorkbook.from_path(str(path))
            if sheet is not None:
                if sheet not in wb.sheet_names:
                    raise UnusableFile(NO_SUCH_SHEET(sheet=repr(sheet), sheets=list(wb.sheet_names)))
                ws = wb.get_sheet_by_name(sheet)
            else:
                if not wb.sheet_names:
                    raise UnusableFile(NO_SHEETS())
                ws = wb.get_sheet_by_index(0)
        except UnusableFile:
            raise
        except Exception as exc:  # calamine raises its own error types for broken files
            raise UnusableFile(SPREADSHEET_BROKEN(error=str(exc))) from None
        self.ws = ws
        self.merged = list(ws.merged_cell_ranges or [])

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        # to_python(skip_empty_area=False) keeps absolute coordinates (iter_rows offsets columns but
        # not rows), so row numbers and merged ranges line up with what the user sees
        for i, rec in enumerate(self.ws.to_python(skip_empty_area=False)):
            yield i + 1, rec


# --------------------------------------------------------------------------------------------- table

class Table:
    """A file opened for import: `headers`, `fields` (canonical → column), `unknown_headers`, and
    iteration over its data `Row`s (also as `.rows`)."""

    def __init__(self, path: Path, columns: dict[str, list[str]], *, required_any: list[str] | None = None,
                 sheet: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UnusableFile(NO_SUCH_FILE(path=str(path)))
        self.columns = columns
        self._aliases = _alias_map(columns)
        merged: list[Any] = []
        if self._is_spreadsheet():
            sh = _Sheet(self.path, sheet)
            source, merged = sh.rows(), sh.merged
            #: an estimate of the data rows (for a progress bar)
            self.total_rows = (sh.ws.end[0] + 1) if sh.ws.end else 0
        else:
            try:
                csv_source = _CsvSource(self.path)
            except OSError as exc:
                raise UnusableFile(CANNOT_READ(path=str(path), error=str(exc.strerror))) from None
            source = csv_source.rows()
            self.total_rows = csv_source.records
        self._source = source
        head: list[tuple[int, list[str]]] = []
        for number, rec in source:
            head.append((number, [clean_cell(v) for v in rec]))
            if len(head) >= HEADER_SEARCH_ROWS:
                break
        self._find_header(head, merged, required_any)
        self.total_rows = max(0, self.total_rows - self.header_row)
        self._consumed = False
        #: a `skipped` report line for each summary or note row met so far (see `report`)
        self.skipped: list[ReportRow] = []

    def _is_spreadsheet(self) -> bool:
        suffix = self.path.suffix.lower()
        if suffix in SPREADSHEET_SUFFIXES:
            return True
        if suffix in {".csv", ".txt", ".tsv"}:
            return False
        with self.path.open("rb") as fh:
            magic = fh.read(8)
        return magic.startswith(b"PK\x03\x04") or magic.startswith(b"\xd0\xcf\x11\xe0")

    def _find_header(self, head: list[tuple[int, list[str]]], merged: list[Any],
                     required_any: list[str] | None) -> None:
        best: tuple[int, int, list[str]] | None = None  # (score, index into head, header texts)
        for i, (_number, cells) in enumerate(head):
            score = len({m for c in cells if (m := _match(c, self._aliases))})
            if score and (best is None or score > best[0]):
                best = (score, i, cells)
            if i + 1 < len(head):
                lower = head[i + 1][1]
                two = self._two_line_header(cells, lower, head[i][0], merged)
                score2 = len({m for c in two if (m := _match(c, self._aliases))})
                # the line below names columns too: one header over two lines (data rows rarely hold names)
                lower_names = any(_match(c, self._aliases) for c in lower)
                if score and lower_names and score2 >= score and score2 >= best[0]:  # type: ignore[index]
                    best = (score2, i + 1, two)
        if best is None:
            raise UnusableFile(NO_HEADER(columns=[next(iter(a), c) for c, a in list(self.columns.items())[:4]]))
        _, idx, header = best
        while header and not header[-1]:
            header = header[:-1]  # trailing empty columns
        self.header_row = head[idx][0]
        self.headers = header
        self.fields: dict[str, int] = {}
        self.unknown_headers: list[str] = []
        self._extra_cols: list[tuple[int, str]] = []
        for col, text in enumerate(header):
            canon = _match(text, self._aliases)
            if canon is not None and canon not in self.fields:
                self.fields[canon] = col
            elif text:
                self.unknown_headers.append(text)
                self._extra_cols.append((col, text))
        if required_any and not any(f in self.fields for f in required_any):
            raise UnusableFile(NO_REQUIRED(columns=list(required_any)))
        self._pending = head[idx + 1:]

    @staticmethod
    def _two_line_header(upper: list[str], lower: list[str], upper_number: int, merged: list[Any]) -> list[str]:
        """A header split over two lines: "联系方式" merged over "手机 | 固话" below it.

        For each column the lower text when it is a column name, else the upper one; the upper text
        of a horizontally merged cell is carried across its span (calamine keeps it in the first cell).
        """
        width = max(len(upper), len(lower))
        up = upper + [""] * (width - len(upper))
        low = lower + [""] * (width - len(lower))
        r = upper_number - 1
        for (r0, c0), (r1, c1) in merged:
            if r0 <= r <= r1 and c1 > c0 and c0 < width:
                for c in range(c0 + 1, min(c1 + 1, width)):
                    up[c] = up[c] or up[c0]
        return [lo or u for u, lo in zip(up, low, strict=True)]

    def _row(self, number: int, cells: list[str]) -> Row | None:
        if not any(cells):
            return None
        reason = note_row(cells)
        if reason is not None:
            self.skipped.append(ReportRow(number, "skipped", issues=[FieldIssue("row", reason)]))
            return None
        values = {canon: "" for canon in self.columns}
        n = len(cells)
        for canon, col in self.fields.items():
            values[canon] = cells[col] if col < n else ""
        extra = {text: cells[col] for col, text in self._extra_cols if col < n and cells[col]}
        width = len(self.headers)
        for col in range(width, n):
            if cells[col]:
                extra[f"column {col + 1}"] = cells[col]
        return Row(number, values, extra)

    def __iter__(self) -> Iterator[Row]:
        if self._consumed:
            raise RuntimeError("a Table can be iterated once")
        self._consumed = True
        for number, cells in self._pending:
            row = self._row(number, cells)
            if row is not None:
                yield row
        for number, rec in self._source:
            row = self._row(number, [clean_cell(v) for v in rec])
            if row is not None:
                yield row

    @property
    def rows(self) -> Iterator[Row]:
        return iter(self)

    def chunks(self, size: int | None = None) -> Iterator[list[Row]]:
        """The data rows in lists of at most `size` (default: the `import_chunk_rows` setting), read as
        they are needed: an importer handles and stores one chunk, calls `checkpoint`, then reads on.
        Memory stays bounded by the chunk, not the file (a CSV is streamed; see `_CsvSource`)."""
        if size is None:
            from fangkong.settings import get_settings

            size = get_settings().import_chunk_rows
        chunk: list[Row] = []
        for row in self:
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    @overload
    def report(self, rows: ReportLog) -> ReportLog: ...

    @overload
    def report(self, rows: Iterable[ReportRow]) -> list[ReportRow]: ...

    def report(self, rows: Iterable[ReportRow]) -> list[ReportRow] | ReportLog:
        """The importer's report lines with the `skipped` lines of summary and note rows, in file order.
        Every importer returns this, so no report ever loses a row of the file. The skipped lines are
        handed out once: an importer working in chunks calls this for each chunk."""
        skipped, self.skipped = self.skipped, []
        if isinstance(rows, ReportLog):  # chunks already merged in order: what is left comes after them
            rows.extend(sorted(skipped, key=lambda r: r.row))
            return rows
        return sorted([*rows, *skipped], key=lambda r: r.row)


def read_table(path: Path, columns: dict[str, list[str]], *, required_any: list[str] | None = None,
               sheet: str | None = None) -> Table:
    """Open `path` and find its header. `columns` maps each canonical field to its header aliases,
    e.g. {"name": ["姓名"], "id_number": ["身份证号", "身份证号码", "证件号码"]}. Raises UnusableFile."""
    return Table(path, columns, required_any=required_any, sheet=sheet)


# -------------------------------------------------------------------------------------------- reports

def write_report(out: Path, rows: Iterable[ReportRow], extra_columns: list[str] | None = None) -> None:
    """The per-row report: UTF-8 with BOM (Excel opens it), `row,status,person_id,issues` first."""
    extra_columns = list(extra_columns or [])
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(REPORT_COLUMNS + extra_columns)
        for r in rows:
            w.writerow([r.row, r.status, "" if r.person_id is None else r.person_id,
                        neutralise("; ".join(r.issues)), *[_report_cell(r.extra.get(c)) for c in extra_columns]])


def _report_cell(value: Any) -> Any:
    """A kind-specific report cell: numbers as numbers, text echoed from the file neutralised so a
    spreadsheet never runs it (`=cmd|…` is written `'=cmd|…`, as in every export)."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return neutralise(str(value))


def summarise(rows: Iterable[ReportRow]) -> dict[str, int]:
    """Counts by status, in the order accepted, duplicate, conflict, rejected, then any other."""
    counts = Counter(r.status for r in rows)
    order = ["accepted", "duplicate", "conflict", "rejected", "skipped"]
    out = {s: counts[s] for s in order if counts[s]}
    out.update({s: n for s, n in counts.items() if s not in out})
    return out


def summary_line(counts: dict[str, int]) -> Message:
    """`12 rows: 10 accepted, 1 duplicate, 1 rejected` for stderr (in the reader's language through
    `translate`: 共 12 行：接受 10，重复 1，拒绝 1)."""
    from fangkong.kernel.messages import Term

    total = sum(counts.values())
    parts = [COUNT(n=n, status=Term(s, kind="report_status")) for s, n in counts.items()]
    return SUMMARY(total=total, counts=parts) if parts else SUMMARY_EMPTY(total=total)


# ------------------------------------------------------------------------------------------ chunks

#: `session.info` key set by whoever owns an import's transaction (`run_import`, the page-import worker):
#: the importer may commit after each chunk. Unset (a test's session, an API batch), nothing commits.
COMMIT_CHUNKS = "import_commit_chunks"
#: `session.info` key: the longest time a chunk held the transaction, in seconds (for `fangkong bench`)
LONGEST_CHUNK = "import_longest_chunk_s"
#: SQLite's busy wait polls at most every 100 ms once it has waited a while: a 20 ms gap after each
#: chunk lets a waiting writer in with a chance of about one in five per chunk, for 2-4% of the time
SQLITE_CHUNK_PAUSE_MS = 20


def allow_chunk_commits(session: Session) -> Session:
    """Let the importers working in `session` commit after each chunk (the caller owns the session and
    commits at the end as before). Between chunks SQLite's write lock is free, so API writers queue for
    at most one chunk, never the whole file."""
    session.info[COMMIT_CHUNKS] = True
    session.info["import_chunk_started"] = time.perf_counter()
    return session


def checkpoint(session: Session) -> None:
    """The end of a chunk: commit it when the session's owner allowed it (`allow_chunk_commits`).

    Every importer is idempotent (a stored row is reported `duplicate` and changes nothing), so a file
    whose import died after some chunks is simply imported again: the stored chunks come back as
    duplicates and the rest is stored, each row exactly once."""
    if not session.info.get(COMMIT_CHUNKS):
        return
    session.commit()
    now = time.perf_counter()
    started = session.info.get("import_chunk_started", now)
    session.info[LONGEST_CHUNK] = max(session.info.get(LONGEST_CHUNK, 0.0), round(now - started, 3))
    from fangkong.settings import get_settings

    settings = get_settings()
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite and now - started > settings.sqlite_busy_timeout_s / 2:
        # writers waiting behind this chunk came close to giving up ("database is locked")
        log.warning("an import chunk held the write lock %.1f s, over half the busy wait (%.0f s): lower "
                    "FANGKONG_IMPORT_CHUNK_ROWS", now - started, settings.sqlite_busy_timeout_s)
    pause = settings.import_chunk_pause_ms
    if pause is None:
        pause = SQLITE_CHUNK_PAUSE_MS if sqlite else 0
    if pause:
        time.sleep(pause / 1000)
    session.info["import_chunk_started"] = time.perf_counter()


# ------------------------------------------------------------------------------------ command line

def run_import(description: str, path: Path, report: Path | None, work: Any,
               extra_columns: list[str] | None = None) -> Sequence[ReportRow]:
    """The body of every `fangkong import KIND FILE [--report OUT]` command.

    `work(session, actor, path, progress=advance)` returns the report rows. One unit of work for
    the whole file, committed a chunk at a time (`checkpoint`) so the API's writers are never held up
    for more than one chunk; an unusable file (or a refused permission) exits 1 with nothing stored
    (both are found before the first chunk); otherwise the report is written, a summary line goes to
    stderr, and the command exits 0.
    """
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.cli_support import describe_error, err_console, fail, progress
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.errors import DomainError
    from fangkong.kernel.i18n import cli_locale
    from fangkong.kernel.messages import translate

    rows: Sequence[ReportRow] = []
    try:
        with progress(description, None) as advance, unit_of_work() as session:
            load_mode(session)
            allow_chunk_commits(session)
            rows = work(session, SYSTEM_ACTOR, Path(path), progress=advance)
    except UnusableFile as exc:
        fail(f"{path}: {translate(exc.message, cli_locale())}", 1)
    except DomainError as exc:
        fail(describe_error(exc), 1)
    if report is not None:
        write_report(report, rows, extra_columns)
    err_console.print(translate(summary_line(summarise(rows)), cli_locale()), highlight=False, markup=False)
    return rows
