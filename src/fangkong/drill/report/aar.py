"""The after-action report (演练复盘报告, AAR) of a drill run: `DIR/aar.xlsx` and `DIR/aar.pdf`, in
Chinese, every sheet and page watermarked 演练 (a drill's report, whatever database reads it).

The XLSX holds the numbers (概况, 得分, 曲线, 时钟, 最慢传播链); the PDF is the same report for
reading and printing, with both curves drawn as an inline SVG (WeasyPrint, the platform's PDF writer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fangkong.drill.report import runs
from fangkong.kernel import clock, drillmark
from fangkong.kernel.messages import translate

LOCALE = "zh_CN"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def zh(value: Any) -> str:
    return translate(value, LOCALE)


def facts(run: runs.Run) -> list[tuple[str, str]]:
    """The run's identity as label/value pairs (scenario as run, seed, when, how long, versions)."""
    s = run.scenario
    city = s.get("city") or {}
    transmission = s.get("transmission") or {}
    rows = [("演练编号", str(run.meta.get("id") or run.id)), ("随机种子", str(run.seed if run.seed is not None else "")),
            ("开始时间(模拟)", str(s.get("start") or "")), ("天数", str(s.get("days") or "")),
            ("人口", str(city.get("persons") or "")), ("病原体", str(s.get("pathogen") or "")),
            ("基本再生数 R0", str(transmission.get("r0") or "")), ("混合方式", str(transmission.get("mixing") or "")),
            ("响应", "有" if s.get("response", True) else "无(仅模拟)"), ("响应者", str(s.get("responders") or "")),
            ("运行开始", str(run.meta.get("started_at") or "")),
            ("运行耗时(秒)", str(run.meta.get("wall_s") or "")),
            ("版本", ", ".join(f"{k} {v}" for k, v in (run.meta.get("versions") or {}).items()))]
    return rows


def _local(value: Any) -> str:
    return clock.format_local(value) if value is not None else ""


def write_aar(run_dir: Path) -> tuple[Path, Path]:
    """Write DIR/aar.xlsx and DIR/aar.pdf from the run directory; returns both paths."""
    run_dir = Path(run_dir)
    run = runs.load_dir(run_dir)
    xlsx, pdf = run_dir / "aar.xlsx", run_dir / "aar.pdf"
    _write_xlsx(run, xlsx)
    _write_pdf(run, pdf)
    return xlsx, pdf


def _write_xlsx(run: runs.Run, out: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    drillmark.mark_workbook(wb, force=True)
    f_title = wb.add_format({"bold": True, "font_size": 14, "font_color": drillmark.RED})
    f_head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    f_pct = wb.add_format({"num_format": "0.0%"})
    f_num = wb.add_format({"num_format": "0.00"})
    f_met = wb.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})
    f_miss = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
    title = f"{drillmark.NOTE} · 演练复盘报告 {run.id}"

    def sheet(name: str, heads: list[str], widths: list[int]) -> Any:
        ws = wb.add_worksheet(name)
        drillmark.mark_xlsx(ws, force=True)
        ws.write_string(0, 0, title, f_title)
        for c, (h, w) in enumerate(zip(heads, widths, strict=True)):
            ws.write_string(1, c, h, f_head)
            ws.set_column(c, c, w)
        ws.freeze_panes(2, 0)
        return ws

    ws = sheet("概况", ["项目", "内容"], [18, 60])
    for r, (k, v) in enumerate(facts(run), start=2):
        ws.write_string(r, 0, k)
        ws.write_string(r, 1, v)

    ws = sheet("得分", ["指标", "代码", "数值", "显示", "目标", "是否达标"], [48, 40, 12, 28, 16, 10])
    for r, s in enumerate(runs.score_rows(run), start=2):
        ws.write_string(r, 0, zh(s.label))
        ws.write_string(r, 1, s.name)
        if isinstance(s.value, int | float) and not isinstance(s.value, bool):
            ws.write_number(r, 2, s.value, f_pct if s.kind == runs.SHARE else f_num)
        ws.write_string(r, 3, s.shown)
        ws.write_string(r, 4, s.goal)
        if s.met is not None:
            ws.write_string(r, 5, "达标" if s.met else "未达标", f_met if s.met else f_miss)

    c = runs.curves(run)
    heads = ["日期", "感染(响应)", "传染期(响应)", "发现(响应)", "管控(响应)", "感染(无响应基线)", "传染期(无响应基线)"]
    ws = sheet("曲线", heads, [12, 12, 14, 12, 12, 18, 20])
    cols = [c["response"][k] for k in ("infections", "infectious", "detected", "controlled")] + \
        [c["baseline"][k] for k in ("infections", "infectious")]
    for r, day in enumerate(c["days"], start=2):
        ws.write_string(r, 0, str(day))
        for j, col in enumerate(cols, start=1):
            if col[r - 2] is not None:
                ws.write_number(r, j, col[r - 2])

    ws = sheet("时钟", ["环节", "样本数", "中位数(小时)", "P90(小时)"], [36, 10, 14, 14])
    for r, k in enumerate(runs.clocks(run), start=2):
        ws.write_string(r, 0, zh(k.label))
        ws.write_number(r, 1, k.n)
        for j, v in ((2, k.p50), (3, k.p90)):
            if v is not None:
                ws.write_number(r, j, v, f_num)

    heads = ["病例", "传染来源", "场所", "感染时间", "发病时间", "发现时间", "管控时间", "列出密接", "其感染人数",
             "晚管控", "未列为密接", "发病到发现(小时)", "发现到列全密接(小时)", "复盘"]
    ws = sheet("最慢传播链", heads, [10, 10, 10, 17, 17, 17, 17, 10, 10, 8, 10, 14, 16, 80])
    for r, ch in enumerate(runs.slowest_chains(run), start=2):
        vals: list[Any] = [ch.case_id, ch.infector_id, zh(runs.setting_label(ch.setting)), _local(ch.infected_at), _local(ch.onset_at),
                           _local(ch.detected_at), _local(ch.controlled_at), ch.contacts, len(ch.infectees), ch.late,
                           ch.unlisted, ch.onset_to_detected_h, ch.detected_to_all_contacts_h, zh(ch.review)]
        for j, v in enumerate(vals):
            if isinstance(v, int | float):
                ws.write_number(r, j, v, f_num if isinstance(v, float) else None)
            elif v is not None:
                ws.write_string(r, j, str(v))
    wb.close()


def curve_svg(run: runs.Run, width: int = 680, height: int = 220) -> str:
    """Both infection curves as an SVG polyline pair (response red, baseline grey), for the PDF."""
    c = runs.curves(run)
    series = [("#B00020", c["response"]["infections"]), ("#888888", c["baseline"]["infections"])]
    values = [v for _, s in series for v in s if v is not None]
    top = max(values) if values else 1
    n = max(len(c["days"]) - 1, 1)
    pad = 30
    lines = []
    for color, s in series:
        pts = " ".join(f"{pad + i * (width - 2 * pad) / n:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"
                       for i, v in enumerate(s) if v is not None)
        if pts:
            lines.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>'
            f'<text x="{pad}" y="{pad - 8}" font-size="10">{top}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{axis}{"".join(lines)}</svg>')


def render_html(run: runs.Run) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters["zh"] = zh
    env.filters["local"] = _local
    env.filters["setting"] = runs.setting_label
    return env.get_template("drill_report/aar.html").render(
        run=run, facts=facts(run), scores=runs.score_rows(run), clocks=runs.clocks(run),
        chains=runs.slowest_chains(run), svg=Markup(curve_svg(run)), note=drillmark.NOTE,
        label=drillmark.LABEL)


def _write_pdf(run: runs.Run, out: Path) -> None:
    from weasyprint import CSS, HTML

    page = CSS(string="@page { size: A4; margin: 18mm 14mm; }")
    HTML(string=render_html(run)).write_pdf(str(out), stylesheets=[page, *drillmark.pdf_stylesheets(force=True)])
