"""Identity fields: ID numbers, mobile numbers, names (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from fangkong.kernel.people import regions
from fangkong.kernel.people.identity import (
    MSG_EXCEL_NUMBER,
    MSG_EXTRA_TEXT,
    MSG_MASKED,
    MSG_SEVERAL,
    age_on,
    check_id_number,
    check_id_numbers,
    check_phone,
    clean_name,
    id_check_digit,
    mask_id,
    mask_phone,
    name_key,
    name_keys,
)

TODAY = dt.date(2022, 4, 18)
CODES = regions.all_region_codes()


def make_id(region: str, born: dt.date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


valid_ids = st.builds(
    make_id,
    st.sampled_from(CODES),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


# ------------------------------------------------------------------------------------- ID: properties

@given(region=st.sampled_from(CODES), born=st.dates(dt.date(1900, 1, 1), TODAY), seq=st.integers(0, 999))
def test_any_well_formed_id_is_valid_and_derives_birth_date_and_sex(region, born, seq):
    number = make_id(region, born, seq)
    c = check_id_number(number, today=TODAY)
    assert c is not None and c.valid, c
    assert c.issues == ()
    assert c.value == number
    assert c.birth_date == born
    assert c.sex == ("M" if seq % 2 else "F")
    assert c.region_code == region
    assert c.region_name


@given(number=valid_ids, pos=st.integers(0, 17), data=st.data())
def test_changing_any_single_character_makes_it_invalid(number, pos, data):
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    new = data.draw(st.sampled_from([c for c in alphabet if c != number[pos]]))
    changed = number[:pos] + new + number[pos + 1:]
    c = check_id_number(changed, today=TODAY)
    assert c is not None and not c.valid
    assert c.value == changed
    assert c.birth_date is None and c.sex is None  # derived fields only for valid numbers


@given(region=st.sampled_from(CODES), born=st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)),
       seq=st.integers(0, 999))
def test_fifteen_digit_numbers_convert_to_the_eighteen_digit_number(region, born, seq):
    number = make_id(region, born, seq)
    first_generation = number[:6] + number[8:17]
    c = check_id_number(first_generation, today=TODAY)
    assert c is not None and c.valid and c.converted
    assert c.value == number
    assert c.birth_date == born
    # as a number cell (15 digits survive Excel's double intact)
    assert check_id_number(float(first_generation), today=TODAY).value == number


_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


@given(number=valid_ids, full_width=st.booleans(), lower=st.booleans(),
       spaces=st.lists(st.sampled_from([" ", "\u3000", "\t", "\u00a0"]), max_size=3), cut=st.integers(0, 18))
def test_id_normalisation_full_width_spaces_lower_x(number, full_width, lower, spaces, cut):
    text = number.lower() if lower else number
    text = text[:cut] + "".join(spaces) + text[cut:]
    if full_width:
        text = text.translate(_FULL_WIDTH)
    c = check_id_number(" " + text + " ", today=TODAY)
    assert c is not None and c.valid and c.value == number


# --------------------------------------------------------------------------------- ID: concrete cases

def test_pudong_resident_born_1970_is_valid():
    # python-stdnum's cn.ric rejects this card (310115 dates from 1992); the card is real
    number = make_id("310115", dt.date(1970, 3, 7), 123)
    c = check_id_number(number, today=TODAY)
    assert c.valid and c.region_name == "上海市浦东新区" and c.sex == "M"


def test_abolished_region_code_is_valid():
    c = check_id_number(make_id("320483", dt.date(1965, 5, 1), 22), today=TODAY)
    assert c.valid
    assert c.region_code == "320483" and "武进" in c.region_name


def test_birth_date_in_the_future():
    c = check_id_number(make_id("320402", dt.date(2099, 1, 1), 1), today=TODAY)
    assert not c.valid and c.issues == ("birth date is in the future",)
    # the platform clock decides what "today" is
    tomorrow = make_id("320402", TODAY + dt.timedelta(days=1), 1)
    assert check_id_number(tomorrow, today=TODAY).issues == ("birth date is in the future",)
    assert check_id_number(tomorrow, today=TODAY + dt.timedelta(days=1)).valid


def test_birth_date_that_does_not_exist():
    first17 = "32040219990231123"
    c = check_id_number(first17 + id_check_digit(first17), today=TODAY)
    assert not c.valid and c.issues == ("birth date 19990231 does not exist",)


def test_birth_date_before_1900():
    c = check_id_number(make_id("320402", dt.date(1899, 12, 31), 1), today=TODAY)
    assert not c.valid and c.issues == ("birth date 18991231 is before 1900",)


def test_unknown_region():
    c = check_id_number(make_id("990101", dt.date(1980, 1, 1), 5), today=TODAY)
    assert not c.valid and c.issues == ("region 990101 is not a known region code",)
    # a county unknown inside a known province: flagged, not a crash (stdnum raises KeyError)
    c = check_id_number(make_id("321299", dt.date(1980, 1, 1), 5), today=TODAY)
    assert c.issues == ("region 321299 is not a known region code",)


def test_wrong_check_digit_names_the_right_one():
    number = make_id("320402", dt.date(1990, 1, 1), 123)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert check_id_number(wrong, today=TODAY).issues == (f"check digit should be {number[17]}",)


def test_lower_case_x_is_upper_cased():
    number = next(make_id("320402", dt.date(1990, 1, d), s) for d in range(1, 29) for s in range(1000)
                  if make_id("320402", dt.date(1990, 1, d), s).endswith("X"))
    c = check_id_number(number.lower(), today=TODAY)
    assert c.valid and c.value == number


@pytest.mark.parametrize(("raw", "issue"), [
    ("32040219900101123", "should be 18 characters (got 17)"),
    ("3204021990010112345", "should be 18 characters (got 19)"),
    ("32040219900101123Y", "should be 17 digits and a final digit or X"),
    ("3204021990X101123X", "should be 17 digits and a final digit or X"),
])
def test_malformed_numbers(raw, issue):
    c = check_id_number(raw, today=TODAY)
    assert not c.valid and c.issues == (issue,) and c.value == raw


@pytest.mark.parametrize("raw", [
    3.20402199001011e17,               # a float cell
    320402199001011008,                # an int with more digits than Excel keeps
    "3.20402199001011e+17",            # the cell shown as text
    "3.20402199001011E+17",
    "320402199001011234.0",            # str() of a number cell, more than 15 digits
])
def test_excel_number_cells_are_flagged(raw):
    c = check_id_number(raw, today=TODAY)
    assert not c.valid and c.issues == (MSG_EXCEL_NUMBER,)


def test_fifteen_digit_text_from_a_number_cell():
    c = check_id_number("320402700101123.0", today=TODAY)
    assert c.valid and c.converted and c.value == "32040219700101123X"


def test_fifteen_digit_with_bad_date_stays_as_written():
    c = check_id_number("320402701301123", today=TODAY)
    assert not c.valid and not c.converted
    assert c.value == "320402701301123"
    assert c.issues == ("birth date 19701301 does not exist",)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_blank_id_is_none(raw):
    assert check_id_number(raw) is None


def test_default_today_comes_from_the_platform_clock():
    from fangkong.kernel import clock

    number = make_id("320402", dt.date(2022, 5, 1), 1)
    with clock.frozen(dt.datetime(2022, 4, 18, 8, tzinfo=dt.UTC)):
        assert check_id_number(number).issues == ("birth date is in the future",)
        assert check_id_numbers([number, None])[0].issues == ("birth date is in the future",)
    with clock.frozen(dt.datetime(2022, 5, 2, 8, tzinfo=dt.UTC)):
        assert check_id_number(number).valid


def test_regions():
    assert regions.is_known_region("320483")
    assert not regions.is_known_region("990101")
    assert regions.region_name("990101") is None
    assert regions.region_name("320402") == "江苏省常州市天宁区"
    codes = regions.all_region_codes()
    assert codes == sorted(codes) and len(codes) > 6000 and all(len(c) == 6 and c.isdigit() for c in codes)


def test_masks_and_age():
    assert mask_id("32040219700101123X") == "320402********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert age_on(dt.date(1970, 4, 19), TODAY) == 51
    assert age_on(dt.date(1970, 4, 18), TODAY) == 52
    assert age_on(None, TODAY) is None


# ---------------------------------------------------------------------------------------------- phones

mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"),
                    st.integers(0, 10**9 - 1))
_FW_DIGITS = str.maketrans("0123456789+-()", "０１２３４５６７８９＋－（）")


@given(number=mobiles, prefix=st.sampled_from(["", "+86", "+86 ", "0086", "0086 ", "86", "(+86)", "+86-"]),
       sep=st.sampled_from(["", " ", "-", "\u3000", " - "]), full_width=st.booleans(),
       pad=st.sampled_from(["", " ", "\t"]))
def test_any_phone_formatting_normalises_to_the_same_number(number, prefix, sep, full_width, pad):
    text = pad + prefix + number[:3] + sep + number[3:7] + sep + number[7:] + pad
    if full_width:
        text = text.translate(_FW_DIGITS)
    c = check_phone(text)
    assert c is not None and c.valid and c.issues == () and c.value == number


@given(number=mobiles)
def test_phone_float_cells(number):
    assert check_phone(float(number)).value == number
    assert check_phone(int(number)).valid
    assert check_phone(number + ".0").value == number


@pytest.mark.parametrize(("raw", "value", "valid", "issues"), [
    ("138****5678", "138****5678", False, (MSG_MASKED,)),
    ("13812345678（本人）", "13812345678", True, (MSG_EXTRA_TEXT,)),
    ("电话：138 1234 5678", "13812345678", True, (MSG_EXTRA_TEXT,)),
    ("13812345678 13987654321", "13812345678", True, (MSG_SEVERAL,)),
    ("13812345678/13987654321", "13812345678", True, (MSG_SEVERAL,)),
    ("13812345678、女儿13987654321", "13812345678", True, (MSG_SEVERAL,)),
    ("14012345678", "14012345678", True, ()),      # phonenumbers rejects 140: we never do
    ("19412345678", "19412345678", True, ()),
    ("12812345678", "12812345678", False, ("a mobile number starts with 13 to 19",)),
    ("1381234567", "1381234567", False, ("should be 11 digits (got 10)",)),
    ("0519-86681234", "051986681234", False, ("a landline number, not a mobile",)),
    ("1.38123E+10", "1.38123E+10", False, (MSG_EXCEL_NUMBER,)),
    ("无", "无", False, ("no number found",)),
])
def test_phone_traps(raw, value, valid, issues):
    c = check_phone(raw)
    assert (c.value, c.valid, c.issues) == (value, valid, issues)


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_blank_phone_is_none(raw):
    assert check_phone(raw) is None


# ----------------------------------------------------------------------------------------------- names

PAIRS = [("陈", "陳"), ("伟", "偉"), ("张", "張"), ("国", "國"), ("刘", "劉"), ("华", "華"), ("东", "東"),
         ("龙", "龍"), ("丽", "麗"), ("杨", "楊"), ("黄", "黃"), ("王", "王"), ("李", "李"), ("娜", "娜")]
WS = ["", " ", "\u3000", "\t", "  "]


@given(idx=st.lists(st.integers(0, len(PAIRS) - 1), min_size=1, max_size=4),
       gaps=st.lists(st.sampled_from(WS), min_size=5, max_size=5))
def test_name_key_ignores_whitespace_and_traditional(idx, gaps):
    simplified = "".join(PAIRS[i][0] for i in idx)
    written = gaps[0] + "".join(PAIRS[i][1] + gaps[k + 1] for k, i in enumerate(idx))
    assert name_key(written) == name_key(simplified) == simplified
    assert name_keys([written, simplified, None]) == [simplified, simplified, None]
    assert clean_name(written) == "".join(PAIRS[i][1] for i in idx)  # display keeps what was written


@given(st.text(alphabet="ABCXYZabcxyz", min_size=1, max_size=8))
def test_name_key_full_width_and_case(s):
    full = s.translate(str.maketrans("ABCXYZabcxyz", "ＡＢＣＸＹＺａｂｃｘｙｚ"))
    assert name_key(full) == name_key(s.upper()) == s.casefold()


def test_name_examples():
    assert name_key("陳偉") == name_key("陈伟") == "陈伟"
    assert name_key("买买提・艾力") == name_key("买买提·艾力") == name_key("买买提•艾力")
    assert clean_name("  John   Smith ") == "John Smith"
    assert clean_name("张 三") == "张三"
    assert clean_name("  ") is None and name_key(None) is None and name_keys([]) == []


# ------------------------------------------------------------------------------------------------- CLI

def test_cli_check_id():
    from fangkong.cli import app
    from fangkong.kernel.cli_support import CliError
    from fangkong.kernel.people import cli  # noqa: F401  (registers the commands)

    good = make_id("320483", dt.date(1970, 1, 1), 11)
    result = CliRunner().invoke(app, ["people", "check-id", good.lower(), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"value": "{good}"' in result.output and "320483" in result.output
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    result = CliRunner().invoke(app, ["people", "check-id", good, wrong])
    assert isinstance(result.exception, CliError)
    assert "check digit should be" in result.output
