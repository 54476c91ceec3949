"""The one export writer (导出): every CSV and XLSX the platform writes for people or other systems —
`fangkong export … --out F.csv|F.xlsx`, each page's 导出 button, the API's exports — goes through
`write`.

Each export kind declares its columns once (`Column`: the stable English key, the Chinese header, a
kind, and for codes a label shown beside them) and a row producer that yields one mapping per row.
The writer renders them in one of two layouts:

- **machine** (`headers="en"`, the default for CSV): exactly the declared keys in their order, codes as
  codes, times as ISO 8601 local time with offset (`2022-04-18T09:00:00+08:00`). Other systems' scripts
  read this; its column names and order never change.
- **people** (`headers="zh"`, the default for XLSX): Chinese headers, names and labels beside codes
  (单位编码 + 单位名称, 渠道 + 渠道名称), local times as `2022-04-18 09:00` (XLSX: real date cells with that
  format), yes/no as 是/否. XLSX adds a frozen header row, a filter and column widths; in a drill
  database the sheet is named 演练-…, a title row says the data are not real, and the sheet carries
  the 演练 watermark (`kernel.drillmark`).

ID and phone numbers are given to the writer as `Sensitive` (masked text and the encrypted value) and
written masked unless an unmask was asked for — which needs `person.unmask`.

Formula injection is neutralised in every file (OWASP "CSV injection"): in CSV a text cell that starts
with `=`, `+`, `-`, `@`, tab or CR is written with a leading `'`; numbers (negative ones too) stay
numbers because numeric columns are written from numbers, never from text. In XLSX every text cell is a
string cell (`strings_to_formulas`, `strings_to_numbers` and `strings_to_urls` are off), which Excel
never evaluates. `neutralise` is also used by the import-report writer.

Rows stream: CSV rows are written as the producer yields them; XLSX uses xlsxwriter's constant-memory
mode. Every export is audited once, as `data.exported`, with who, the kind, the filter, the row count,
the format, the layout and whether numbers were unmasked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock, drillmark
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed
from fangkong.kernel.messages import _, message, translate

NO_SUCH_EXPORT = message("export.unknown_kind", _("no export named %(name)s"))
INVALID_EXPORT = message("export.invalid", _("invalid export"))
INVALID_FILTER = message("export.invalid_filter", _("invalid filter"))
OUT_SUFFIX = message("export.out_suffix", _("the file must end in .csv or .xlsx"))
ONE_OF = message("export.one_of", _("one of %(choices)s"))
POSITIVE_NUMBER = message("export.positive_number", _("a positive whole number"))
A_DATE = message("export.a_date", _("a date like 2022-04-18"))

#: column kinds: how a value is written
TEXT, CODE, INT, NUMBER, DATETIME, DATE, ID_NUMBER, PHONE, BOOL = (
    "text", "code", "int", "number", "datetime", "date", "id_number", "phone", "bool")
KINDS = (TEXT, CODE, INT, NUMBER, DATETIME, DATE, ID_NUMBER, PHONE, BOOL)
FORMATS = ("csv", "xlsx")
LAYOUTS = ("en", "zh")
#: what makes a spreadsheet treat a cell as a formula (OWASP): = + - @ and a leading tab or CR
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: the people's layout is Chinese: the platform's people read Chinese
PEOPLE_LOCALE = "zh_CN"
DRILL_TITLE = "演练数据(非真实数据)"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    """One column of an export kind.

    `key` is the machine header (stable), `zh` the people's header. `label` turns a code into what a
    person reads (a msgid, a `Message` or plain Chinese); the people's layout puts it in a column of
    its own beside the code, headed `label_zh` (default: `zh` + 名称). A column with `machine=False`
    exists only in the people's layout (a person's or a unit's name beside its id or code).
    """

    key: str
    zh: str
    kind: str = TEXT
    label: Callable[[Any], Any] | None = None
    label_zh: str | None = None
    machine: bool = True
    width: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Sensitive:
    """An ID or phone number as the registry keeps it: masked text and the encrypted full value."""

    masked: str | None
    encrypted: bytes | None = None


@dataclass
class ExportKind:
    """What can be exported (`leads`, `compliance` …): its columns, its rows and who may export it.

    `rows(session, actor, **filters)` yields one mapping per row (keys of `columns`; missing keys are
    empty), streamed. `parse_filters(session, actor, params)` turns a page's or the API's query
    parameters (text) into those keyword arguments, raising ValidationFailed for bad ones.
    """

    name: str
    title_zh: str
    columns: Sequence[Column]
    rows: Callable[..., Iterable[Mapping[str, Any]]]
    permissions: tuple[str, ...]
    parse_filters: Callable[[Session, Actor, Mapping[str, str]], dict[str, Any]] = \
        field(default=lambda session, actor, params: {})
    object_type: str | None = None

    @property
    def machine_headers(self) -> list[str]:
        return [c.key for c in self.columns if c.machine]

    def allowed(self, actor: Actor | None) -> bool:
        return actor is not None and all(actor.can(p) for p in self.permissions)


#: name → kind, filled by the modules that define kinds (capabilities register theirs on import)
REGISTRY: dict[str, ExportKind] = {}


def register(kind: ExportKind) -> ExportKind:
    REGISTRY[kind.name] = kind
    return kind


def export_url(kind: str, params: Mapping[str, Any] | None = None, fmt: str = "xlsx") -> str:
    """A page's 导出 link: the kind's download carrying the page's filters (empty ones dropped)."""
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "", False)})
    return f"/export/{kind}.{fmt}" + (f"?{query}" if query else "")


def export_allowed(actor: Actor | None, kind: str) -> bool:
    """Whether `actor` may export `kind` (pages show the 导出 button only then)."""
    k = REGISTRY.get(kind)
    return k is not None and k.allowed(actor)


def get_kind(name: str) -> ExportKind:
    kind = REGISTRY.get(name)
    if kind is None:
        raise NotFound(NO_SUCH_EXPORT(name=name))
    return kind


# ------------------------------------------------------------------------------------------- cells

def neutralise(text: str) -> str:
    """A text cell a spreadsheet will not run: a leading `'` before = + - @ tab CR (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _reveal(value: Any, unmasked: bool) -> str:
    if isinstance(value, Sensitive):
        if unmasked and value.encrypted is not None:
            from fangkong.kernel.people import crypto

            return crypto.decrypt(value.encrypted)
        return value.masked or ""
    return "" if value is None else str(value)


def _machine_value(col: Column, value: Any, unmasked: bool) -> Any:
    """The machine layout's value: numbers stay numbers; everything else is text."""
    if value is None or value == "":
        return ""
    if col.kind in (INT, NUMBER) and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if col.kind == DATETIME and isinstance(value, dt.datetime):
        return clock.iso_local(value)
    if col.kind == DATE and isinstance(value, dt.date):
        return value.isoformat()
    if col.kind == BOOL:
        return "true" if value else "false"
    if col.kind in (ID_NUMBER, PHONE):
        return _reveal(value, unmasked)
    return str(value)


def _people_value(col: Column, value: Any, unmasked: bool) -> Any:
    """The people's layout's value: local times to the minute (datetimes kept for XLSX), 是/否."""
    if value is None or value == "":
        return ""
    if col.kind == DATETIME and isinstance(value, dt.datetime):
        local = clock.to_local(value)
        assert local is not None
        return local.replace(tzinfo=None, second=0, microsecond=0)
    if col.kind == BOOL:
        return "是" if value else "否"
    return _machine_value(col, value, unmasked)


def _label(col: Column, value: Any) -> str:
    if value is None or value == "" or col.label is None:
        return ""
    shown = col.label(value)
    return "" if shown is None else translate(shown, PEOPLE_LOCALE)


@dataclass(frozen=True)
class _Out:
    """One output column of a layout: where its value comes from and how it is shown."""

    header: str
    col: Column
    is_label: bool = False


def _layout(kind: ExportKind, headers: str) -> list[_Out]:
    if headers == "en":
        return [_Out(c.key, c) for c in kind.columns if c.machine]
    out: list[_Out] = []
    for c in kind.columns:
        out.append(_Out(c.zh, c))
        if c.label is not None:
            out.append(_Out(c.label_zh or f"{c.zh}名称", c, is_label=True))
    return out


def _cells(layout: list[_Out], row: Mapping[str, Any] | Sequence[Any], keys: list[str], people: bool,
           unmasked: bool) -> list[Any]:
    values = row if isinstance(row, Mapping) else dict(zip(keys, row, strict=False))
    cells = []
    for o in layout:
        v = values.get(o.col.key)
        if o.is_label:
            cells.append(_label(o.col, v))
        elif people:
            cells.append(_people_value(o.col, v, unmasked))
        else:
            cells.append(_machine_value(o.col, v, unmasked))
    return cells


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime(clock.LOCAL_MINUTE)
    if isinstance(value, str):
        return neutralise(value)
    return value


# ------------------------------------------------------------------------------------------ writers

def _write_csv(out: Path, title: str | None, header: list[str], rows: Iterator[list[Any]]) -> int:
    n = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title])
        w.writerow(header)
        for cells in rows:
            w.writerow([_csv_cell(v) for v in cells])
            n += 1
    return n


_WIDTHS = {TEXT: 16, CODE: 14, INT: 10, NUMBER: 10, DATETIME: 17, DATE: 12, ID_NUMBER: 21, PHONE: 14, BOOL: 8}
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _width(o: _Out) -> int:
    base = 16 if o.is_label else (o.col.width or _WIDTHS[o.col.kind])
    # a CJK character takes two columns' width
    header = sum(2 if ord(ch) > 0x2E80 else 1 for ch in o.header) + 2
    return max(base, header)


def _write_xlsx(out: Path, sheet: str, title: str | None, layout: list[_Out], header: list[str],
                rows: Iterator[list[Any]], people: bool) -> int:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False,
    })
    try:
        ws = wb.add_worksheet(sheet.translate(_BAD_SHEET_CHARS)[:31])
        drillmark.mark_workbook(wb)
        drillmark.mark_xlsx(ws)
        head_fmt = wb.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True,
                                  "valign": "vcenter"})
        time_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        for i, o in enumerate(layout):
            ws.set_column(i, i, _width(o) if people else max(len(o.header) + 2, _WIDTHS[o.col.kind]))
        r = 0
        if title:
            ws.write_string(r, 0, title, wb.add_format({"bold": True, "font_color": "#B00020"}))
            r += 1
        for i, h in enumerate(header):
            ws.write_string(r, i, h, head_fmt)
        head_row = r
        ws.freeze_panes(head_row + 1, 0)
        n = 0
        for cells in rows:
            r += 1
            n += 1
            for i, v in enumerate(cells):
                if v is None or v == "":
                    continue
                if isinstance(v, bool):
                    ws.write_string(r, i, str(v))
                elif isinstance(v, int | float):
                    ws.write_number(r, i, v)
                elif isinstance(v, dt.datetime):
                    ws.write_datetime(r, i, v, time_fmt)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, i, dt.datetime.combine(v, dt.time(0)), date_fmt)
                else:
                    ws.write_string(r, i, str(v))
        if layout:
            ws.autofilter(head_row, 0, max(head_row, r), len(layout) - 1)
    finally:
        wb.close()
    return n


def _jsonable(filters: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in filters.items():
        if v is None or v == "" or v is False:
            continue
        out[k] = clock.iso_local(v) if isinstance(v, dt.datetime) else v.isoformat() \
            if isinstance(v, dt.date) else v
    return out


def write(
    session: Session,
    actor: Actor,
    kind: ExportKind | str,
    *,
    out: Path,
    filters: Mapping[str, Any] | None = None,
    rows: Iterable[Mapping[str, Any] | Sequence[Any]] | None = None,
    unmasked: bool = False,
    headers: str | None = None,
) -> int:
    """Write an export to `out` (`.csv` or `.xlsx`, by its suffix) and audit it; returns the rows written.

    `rows` defaults to the kind's producer called with `filters`; a caller that already has the rows
    (a computed list) passes them, as mappings or as sequences in the machine columns' order.
    `headers` is `en` (machine layout) or `zh` (people's layout); by default CSV is `en`, XLSX `zh`.
    """
    kind = get_kind(kind) if isinstance(kind, str) else kind
    for p in kind.permissions:
        actor.require(p)
    if unmasked:
        actor.require("person.unmask")
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    errors = []
    if fmt not in FORMATS:
        errors.append(FieldError("out", OUT_SUFFIX()))
    headers = headers or ("en" if fmt == "csv" else "zh")
    if headers not in LAYOUTS:
        errors.append(FieldError("headers", ONE_OF(choices="en, zh")))
    if errors:
        raise ValidationFailed(INVALID_EXPORT(), errors)
    filters = dict(filters or {})
    people = headers == "zh"
    layout = _layout(kind, headers)
    header = [o.header for o in layout]
    keys = kind.machine_headers
    source = rows if rows is not None else kind.rows(session, actor, **filters)
    cells = (_cells(layout, row, keys, people, unmasked) for row in source)
    drill = clock.mode() == "drill"
    title = f"{DRILL_TITLE} · {kind.title_zh}" if drill and people else None
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        n = _write_csv(out, title, header, cells)
    else:
        sheet = f"演练-{kind.title_zh}" if drill else kind.title_zh
        n = _write_xlsx(out, sheet, title, layout, header, cells, people)
    audit.record(session, actor, "data.exported", object_type=kind.object_type or kind.name, kind=kind.name,
                 rows=n, unmasked=unmasked, format=fmt, headers=headers, filter=_jsonable(filters),
                 file=out.name)
    return n


def write_csv_lines(session: Session, actor: Actor, kind: ExportKind | str, *, out: Path,
                    lines: Iterable[bytes], rows: int, filters: Mapping[str, Any] | None = None) -> int:
    """`write` to a `.csv` in the machine layout (`headers=en`) for a producer that makes the CSV lines
    itself, column-wise (the co-location pairs of 500 cases are millions of rows: a Python row each
    would cost seconds). Same permission check, header, encoding and audit as `write`; `lines` (UTF-8,
    CRLF) must be what `write` makes of the same rows — the producer's tests compare the two files."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    for p in kind.permissions:
        actor.require(p)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ValidationFailed(INVALID_EXPORT(), [FieldError("out", OUT_SUFFIX())])
    filters = dict(filters or {})
    out.parent.mkdir(parents=True, exist_ok=True)
    head = io.StringIO()
    csv.writer(head).writerow([o.header for o in _layout(kind, "en")])
    with out.open("wb") as fh:
        fh.write(head.getvalue().encode("utf-8-sig"))
        for chunk in lines:
            fh.write(chunk)
    audit.record(session, actor, "data.exported", object_type=kind.object_type or kind.name, kind=kind.name,
                 rows=rows, unmasked=False, format="csv", headers="en", filter=_jsonable(filters), file=out.name)
    return rows


# --------------------------------------------------------------------------------------- downloads

@dataclass
class Download:
    """A written export in a temporary folder, ready to be sent (`cleanup` removes the folder)."""

    path: Path
    filename: str
    media_type: str
    rows: int

    def cleanup(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def download(session: Session, actor: Actor, kind: ExportKind | str, *, fmt: str,
             params: Mapping[str, str] | None = None, filters: Mapping[str, Any] | None = None,
             unmasked: bool = False, headers: str | None = None) -> Download:
    """Write an export for a page or the API: filters from the query `params` (parsed by the kind) or
    given parsed; a file named after the kind and the local time (`线索-20220418-0900.xlsx`)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    if fmt not in FORMATS:
        raise ValidationFailed(INVALID_EXPORT(), [FieldError("format", ONE_OF(choices="csv, xlsx"))])
    if filters is None:
        filters = kind.parse_filters(session, actor, params or {})
    folder = Path(tempfile.mkdtemp(prefix="fangkong-export-"))
    stamp = clock.local_now().strftime("%Y%m%d-%H%M")
    name = f"{kind.title_zh if fmt == 'xlsx' else kind.name}-{stamp}.{fmt}"
    if clock.mode() == "drill":
        name = ("演练-" if fmt == "xlsx" else "drill-") + name
    try:
        n = write(session, actor, kind, out=folder / name, filters=filters, unmasked=unmasked, headers=headers)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Download(folder / name, name, XLSX_MEDIA if fmt == "xlsx" else CSV_MEDIA, n)


# ----------------------------------------------------------------------------- filter parsing helpers

def param_int(params: Mapping[str, str], name: str) -> int | None:
    """An optional positive id from query text (a 422 naming the field otherwise)."""
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 1 <= int(value) <= 2_147_483_647:
        raise ValidationFailed(INVALID_FILTER(), [FieldError(name, POSITIVE_NUMBER())])
    return int(value)


def param_day(params: Mapping[str, str], name: str) -> dt.date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(INVALID_FILTER(), [FieldError(name, A_DATE())]) from None


def param_choice(params: Mapping[str, str], name: str, choices: Iterable[str]) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    allowed = list(choices)
    if value not in allowed:
        raise ValidationFailed(INVALID_FILTER(), [FieldError(name, ONE_OF(choices=", ".join(allowed)))])
    return value


def param_flag(params: Mapping[str, str], name: str) -> bool:
    return (params.get(name) or "").strip().lower() in ("1", "on", "true", "yes")


def translate_label(value: Any) -> str:
    """A label (msgid, `Message` or text) as the people's layout shows it (Chinese)."""
    return translate(value, PEOPLE_LOCALE)
