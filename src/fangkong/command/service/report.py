"""The daily report (日报): the day's indicators as people read them, in XLSX (xlsxwriter) or PDF
(Chromium through Playwright, CJK fonts). Reads the frozen snapshot; a day not yet frozen is
watermarked 未截止. The sheet 数据 holds exactly the rows of `fangkong indicators`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.command.rules import ancestors
from fangkong.command.service.indicators import (
    COLUMNS,
    IndicatorRow,
    IndicatorTable,
    indicators,
    late_differences,
)
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions.models import LEVEL_NAMES_ZH

#: the report's sections (a sheet each): title and the indicator codes it shows, in order
SECTIONS: list[tuple[str, list[str]]] = [
    ("线索核查", ["leads.received", "leads.cleared_same_day", "leads.overdue"]),
    ("三个时钟", [f"clock.{s}_h.{q}" for s in ("known", "managed", "controlled") for q in ("p50", "p90")]),
    ("核酸检测", ["testing.compliance", "testing.coverage", "testing.tested", "testing.positive_pools"]),
    ("病例与密接", ["cases.new", "cases.detected_in_control", "contacts.under_control"]),
    ("卡口隔离预警", ["checkpoints.inspected", "trips.open", "quarantine.occupancy", "signals.open"]),
]
STATUS_ZH = {"green": "正常", "amber": "关注", "red": "预警", "none": "无数据", "": ""}
NOT_FROZEN = "未截止"


@dataclass
class DailyReport:
    table: IndicatorTable
    late: list[dict[str, Any]]
    title: str
    header: str

    @property
    def units(self) -> list[IndicatorRow]:
        """One row per unit (its first indicator), in tree order."""
        seen: dict[str, IndicatorRow] = {}
        for r in self.table.rows:
            seen.setdefault(r.unit_code, r)
        return list(seen.values())

    def cell(self, unit_code: str, code: str) -> IndicatorRow | None:
        return self._index.get((unit_code, code))

    def __post_init__(self) -> None:
        self._index = {(r.unit_code, r.indicator): r for r in self.table.rows}
        depth = {}
        for r in self.table.rows:
            depth.setdefault(r.unit_code, r.unit_path.count("/") - 2)
        top = min(depth.values()) if depth else 0
        self.depth = {k: v - top for k, v in depth.items()}
        above = {a for r in self.table.rows for a in ancestors(r.unit_path) if a != r.unit_path}
        self.has_children = {r.unit_code: r.unit_path in above for r in self.units}


def build(session: Session, actor: Actor, *, day: dt.date, unit_code: str | None = None) -> DailyReport:
    """The day's report of a unit's subtree: the frozen snapshot (else live, watermarked 未截止) and the
    late differences (补报) since it was frozen."""
    table = indicators(session, actor, day=day, unit_code=unit_code)
    late = late_differences(session, actor, day=day, unit_code=unit_code) if table.frozen else []
    name = table.rows[0].unit_name if table.rows else table.unit_code
    title = f"{name}疫情防控指标日报({table.day.isoformat()})"
    state = f"快照第 {table.version} 版,冻结于 {clock.format_local(table.taken_at)}" if table.frozen else \
        f"{NOT_FROZEN}:即时计算于 {clock.format_local(clock.now())}"
    header = (f"截止时间 {clock.format_local(table.cutoff_at)} · 政策包 {table.pack_version} · {state}")
    return DailyReport(table, late, title, header)


def _shown(r: IndicatorRow | None) -> str:
    return "" if r is None else r.shown()


# ------------------------------------------------------------------------------------------------ XLSX

def write_xlsx(report: DailyReport, out: Path) -> None:
    import xlsxwriter

    from fangkong.kernel import drillmark

    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    drillmark.mark_workbook(wb)
    base = {"font_name": "Microsoft YaHei", "font_size": 10, "border": 1, "valign": "vcenter"}
    f_title = wb.add_format({"font_name": "Microsoft YaHei", "bold": True, "font_size": 16, "align": "center"})
    f_header_line = wb.add_format({"font_name": "Microsoft YaHei", "font_size": 10, "align": "center",
                                   "font_color": "#555555"})
    f_mark = wb.add_format({"font_name": "Microsoft YaHei", "bold": True, "font_size": 14, "align": "center",
                            "font_color": "#C00000", "bg_color": "#FDE9E7"})
    f_head = wb.add_format({**base, "bold": True, "align": "center", "bg_color": "#DDEBF7", "text_wrap": True})
    fills = {"green": "#E2EFDA", "amber": "#FFF2CC", "red": "#F8CBAD"}
    fmts: dict[tuple[str, str, bool], Any] = {}

    def fmt(kind: str, status: str, bold: bool) -> Any:
        key = (kind, status, bold)
        if key not in fmts:
            spec = {**base, "bold": bold}
            if kind == "rate":
                spec["num_format"] = "0.00%"
            elif kind == "hours":
                spec["num_format"] = "0.00"
            elif kind == "count":
                spec["num_format"] = "0"
            if status in fills:
                spec["bg_color"] = fills[status]
            if kind == "text":
                spec["align"] = "center"
            fmts[key] = wb.add_format(spec)
        return fmts[key]

    frozen = report.table.frozen

    def top(ws: Any, width: int) -> int:
        drillmark.mark_xlsx(ws)
        ws.merge_range(0, 0, 0, width - 1, report.title, f_title)
        ws.merge_range(1, 0, 1, width - 1, report.header, f_header_line)
        if not frozen:
            ws.merge_range(2, 0, 2, width - 1, f"{NOT_FROZEN} —— 当日数据尚未冻结,数字可能变化", f_mark)
            return 3
        return 2

    names = {r.indicator: r.name_zh for r in report.table.rows}
    for title, codes in SECTIONS:
        ws = wb.add_worksheet(title)
        width = 3 + 3 * len(codes)
        row = top(ws, width)
        # merged headers: the unit columns over two rows, each indicator over its value/numerator/denominator
        for col, label in enumerate(["单位编码", "单位名称", "层级"]):
            ws.merge_range(row, col, row + 1, col, label, f_head)
        for i, code in enumerate(codes):
            c = 3 + 3 * i
            ws.merge_range(row, c, row, c + 2, names.get(code, code), f_head)
            for j, sub in enumerate(["数值", "分子", "分母"]):
                ws.write(row + 1, c + j, sub, f_head)
        row += 2
        ws.freeze_panes(row, 3)
        for u in report.units:
            subtotal = report.has_children.get(u.unit_code, False)
            indent = "  " * report.depth.get(u.unit_code, 0)
            ws.write(row, 0, u.unit_code, fmt("", "", subtotal))
            ws.write(row, 1, indent + u.unit_name + ("(小计)" if subtotal else ""), fmt("", "", subtotal))
            ws.write(row, 2, "市" if u.level == "city" else LEVEL_NAMES_ZH.get(u.level, u.level), fmt("", "", subtotal))
            for i, code in enumerate(codes):
                c = 3 + 3 * i
                r = report.cell(u.unit_code, code)
                if r is None or not r.enabled or r.value is None:
                    ws.write(row, c, _shown(r), fmt("text", r.status if r else "", subtotal))
                else:
                    ws.write_number(row, c, float(r.value), fmt(r.kind, r.status, subtotal))
                for j, n in ((1, r.numerator if r else None), (2, r.denominator if r else None)):
                    if n is None:
                        ws.write_blank(row, c + j, None, fmt("", "", subtotal))
                    else:
                        ws.write_number(row, c + j, float(n), fmt("count", "", subtotal))
            row += 1
        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 22)
        ws.set_column(2, 2, 8)
        ws.set_column(3, width - 1, 9)
        ws.write(row + 1, 0, "说明:颜色按政策包阈值(绿=正常,黄=关注,红=预警);— 为分母为零;尚未启用为该能力尚未上线。",
                 wb.add_format({"font_name": "Microsoft YaHei", "font_size": 9, "font_color": "#555555"}))

    if report.late:
        ws = wb.add_worksheet("补报")
        heads = ["单位编码", "单位名称", "指标", "冻结值", "现值", "冻结分子", "现分子", "冻结分母", "现分母"]
        row = top(ws, len(heads))
        for c, h in enumerate(heads):
            ws.write(row, c, h, f_head)
        for d in report.late:
            row += 1
            vals = [d["unit_code"], d["unit_name"], d["name_zh"], d["frozen_value"], d["live_value"],
                    d["frozen_numerator"], d["live_numerator"], d["frozen_denominator"], d["live_denominator"]]
            for c, v in enumerate(vals):
                if isinstance(v, int | float):
                    ws.write_number(row, c, float(v), fmt("", "", False))
                else:
                    ws.write(row, c, "" if v is None else v, fmt("", "", False))
        ws.set_column(0, len(heads) - 1, 12)

    # 数据: exactly the rows of `fangkong indicators` (machine columns, numbers as numbers)
    ws = wb.add_worksheet("数据")
    drillmark.mark_xlsx(ws)
    for c, h in enumerate(COLUMNS):
        ws.write(0, c, h)
    for i, r in enumerate(report.table.rows, start=1):
        for c, (k, v) in enumerate(r.as_csv().items()):
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(i, c, v)
            elif v == "":
                ws.write_blank(i, c, None)
            else:
                ws.write_string(i, c, str(v))
            del k
    wb.close()


# ------------------------------------------------------------------------------------------------ PDF

def render_html(report: DailyReport) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
                      autoescape=select_autoescape(["html"]))
    names = {r.indicator: r.name_zh for r in report.table.rows}
    sections = [(title, [(c, names.get(c, c)) for c in codes]) for title, codes in SECTIONS]
    return env.get_template("command/daily_report.html").render(
        report=report, sections=sections, frozen=report.table.frozen, not_frozen=NOT_FROZEN,
        level_name=lambda lv: "市" if lv == "city" else LEVEL_NAMES_ZH.get(lv, lv), status_zh=STATUS_ZH)


def write_pdf(report: DailyReport, out: Path) -> None:
    """The report as PDF (WeasyPrint, the platform's one PDF writer, as the notices; CJK fonts from the
    system: Debian fonts-wqy-microhei or fonts-noto-cjk), A4 landscape."""
    from weasyprint import CSS, HTML

    from fangkong.kernel import drillmark

    page = CSS(string="@page { size: A4 landscape; margin: 12mm 10mm; }")
    HTML(string=render_html(report)).write_pdf(str(out), stylesheets=[page, *drillmark.pdf_stylesheets()])


def write_report(session: Session, actor: Actor, *, day: dt.date, unit_code: str | None, out: Path) -> DailyReport:
    """`fangkong report daily`: build the day's report and write it as XLSX or PDF by the suffix; audited."""
    report = build(session, actor, day=day, unit_code=unit_code)
    if out.suffix.lower() == ".pdf":
        write_pdf(report, out)
    else:
        write_xlsx(report, out)
    audit.record(session, actor, "command.report_written", object_type="command_report", day=day.isoformat(),
                 unit_code=report.table.unit_code, frozen=report.table.frozen, version=report.table.version,
                 rows=len(report.table.rows), format=out.suffix.lower().lstrip("."))
    return report
