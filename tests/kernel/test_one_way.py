"""One way for each thing (issue #10): one time parser (also the API bodies' type), one OpenCC converter."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import fangkong
from fangkong.kernel import clock
from fangkong.kernel.chinese import to_simplified, to_simplified_many

SRC = Path(fangkong.__file__).resolve().parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _sources() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(), filename=str(p))) for p in sorted(SRC.rglob("*.py"))
            if "migrations" not in p.parts]


# --------------------------------------------------------------------------------------------- time

def test_only_the_clock_parses_times():
    """No module but `kernel/clock.py` defines a time parser (the venues duplicate is gone) or the
    spreadsheet date patterns; everyone imports `clock.parse_time`."""
    offenders = []
    for path, tree in _sources():
        if path == SRC / "kernel" / "clock.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "parse_time":
                offenders.append(f"{path.relative_to(SRC)} defines parse_time")
            if isinstance(node, ast.ClassDef) and node.name == "BadTime":
                offenders.append(f"{path.relative_to(SRC)} defines BadTime")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "年(\\d{1,2})月" in node.value:
                offenders.append(f"{path.relative_to(SRC)} has its own Chinese date pattern")
    assert not offenders, "\n".join(offenders)


def test_venues_use_the_kernel_parser():
    from fangkong.venues.service import scans

    assert scans.parse_time is clock.parse_time


# from 1992: China kept daylight saving time until 1991 (ambiguous local times)
_times = st.datetimes(min_value=dt.datetime(1992, 1, 1), max_value=dt.datetime(2060, 12, 31),
                      timezones=st.just(SHANGHAI)).map(lambda d: d.replace(microsecond=0))


@given(_times)
def test_every_accepted_shape_round_trips(local: dt.datetime):
    """A local time written in each shape files, forms and API bodies use parses back to the same instant."""
    utc = local.astimezone(dt.UTC)
    shapes = [
        local.isoformat(),                                   # ISO with offset
        local.replace(tzinfo=None).isoformat(),              # naive ISO: local
        local.replace(tzinfo=None).isoformat(sep=" "),
        utc.isoformat().replace("+00:00", "Z"),
        f"{local:%Y/%m/%d %H:%M:%S}",
        f"{local.year}年{local.month}月{local.day}日 {local.hour}:{local:%M}:{local:%S}",
        f"{local:%Y.%m.%d %H:%M:%S}",
        f"　{local:%Y-%m-%d %H:%M:%S} ",                      # full-width space around
    ]
    for text in shapes:
        assert clock.parse_time(text) == utc, text
    assert clock.parse_time(local) == utc
    assert clock.parse_time(clock.iso_local(utc)) == utc


@given(_times)
def test_people_format_round_trips_to_the_minute(local: dt.datetime):
    utc = local.astimezone(dt.UTC)
    text = clock.format_local(utc)
    assert len(text) == 16 and text[4] == "-" and text[10] == " "
    assert clock.parse_time(text) == utc.replace(second=0)


@given(st.dates(min_value=dt.date(1992, 1, 1), max_value=dt.date(2060, 12, 31)))
def test_dates_alone_are_local_midnight(day: dt.date):
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI).astimezone(dt.UTC)
    assert clock.parse_time(day.isoformat()) == midnight
    assert clock.parse_time(f"{day.year}年{day.month}月{day.day}日") == midnight
    assert clock.parse_time(day) == midnight


@pytest.mark.parametrize("text", ["2022-13-01", "yesterday", "2022年2月30日", "18/04/2022 09:00"])
def test_bad_times_raise(text: str):
    with pytest.raises(clock.BadTime):
        clock.parse_time(text)


def test_the_api_body_type_is_the_same_parser():
    class Body(BaseModel):
        at: clock.LocalTime | None = None

    assert Body(at="2022年4月18日 9:00").at == dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)
    assert Body(at="2022/4/18 09:00").at == Body(at="2022-04-18T09:00:00+08:00").at
    assert Body().at is None
    with pytest.raises(ValidationError) as err:
        Body(at="not a time")
    assert err.value.errors()[0]["loc"] == ("at",)


# ------------------------------------------------------------------------------------------- OpenCC

def test_one_opencc_converter():
    """Only `kernel/chinese.py` imports opencc; names, addresses and region keys all use it."""
    importers = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "opencc" for n in names):
                importers.append(str(path.relative_to(SRC)))
    assert importers == ["kernel/chinese.py"]


def test_the_converter_serves_names_addresses_and_regions():
    from fangkong.intake.rules import region_key
    from fangkong.kernel.jurisdictions.address import normalise_address
    from fangkong.kernel.people.identity import name_key, name_keys

    assert to_simplified("陳偉") == "陈伟"
    assert to_simplified_many(["陳偉", "", "abc", "臺灣"]) == ["陈伟", "", "abc", "台湾"]
    assert name_key("陳 偉") == name_key("陈伟") and name_keys(["陳偉", None]) == ["陈伟", None]
    assert region_key("臺灣") == region_key("台湾")
    assert normalise_address("長江路1號").key == normalise_address("长江路1号").key
