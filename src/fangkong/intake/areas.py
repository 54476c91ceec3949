"""Where a risk area lies (风险区域定位): a county code and the places inside it, from what a row gives.

Pure. A row gives any of: the national list's columns 省 (`province`), 市 (`city`), 县区 (`county`)
and 风险区名称 (`place`: a 街道/小区/村, several separated by 、 or commas); `region_name`, free text
naming a county or a place inside one (南京市鼓楼区, 南京市鼓楼区宁海路街道XX小区); `region_code`, a
GB/T 2260 county code. Which county:
1. `region_code`, when given (it must be a county of today);
2. else `province` + `city` + `county` read as one text, when `county` is given, or `city` without
   `region_name` (text left after the county, as 长安镇 in 东莞市长安镇, leads the place);
3. else `province` + `city` + `region_name`.
Text that names several counties (鼓楼区 alone), none, only a province or city, or a county that no
longer exists is an issue on its field, never a guess. When the county came from the code or the
columns, `region_name` is the place inside — unless it names that same county, then its text after
the county is. The place column adds to that. No place, or 全域/全县/全区: the whole county.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.messages import FieldIssue, _, message

COUNTY_REQUIRED = message("risk_area.county_required",
                          _("required: the county (县区) or a region naming one, or a county code"))
CODE_NOT_COUNTY = message("risk_area.code_not_county", _("%(code)s is not a county code of today (GB/T 2260)"))
PLACES_TOO_LONG = message("risk_area.places_too_long", _("at most %(n)s characters"))

#: places of one area, joined, at most this long (the key must fit its column)
PLACES_LIMIT = 200


@dataclass
class Located:
    county_code: str | None
    places: list[str] = field(default_factory=list)
    issues: list[FieldIssue] = field(default_factory=list)

    @property
    def key(self) -> str:
        return area_key(self.county_code or "", self.places)


def area_key(county_code: str, places: list[str] | tuple[str, ...]) -> str:
    """`320106:` for the whole county, `320106:宁海路街道XX小区、YY村` (normalised, sorted) for places."""
    keys = sorted(dict.fromkeys(regions.place_key(p) for p in places))
    return f"{county_code}:" + "、".join(keys)


def _clean(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def locate(*, region_name: str | None = None, region_code: str | None = None, province: str | None = None,
           city: str | None = None, county: str | None = None, place: str | None = None) -> Located:
    """The county and places a row names (see the module docstring), with issues by field."""
    name, code_text = _clean(region_name), "".join(_clean(region_code).split())
    prov, cty, cnty = _clean(province), _clean(city), _clean(county)
    issues: list[FieldIssue] = []
    found: regions.Resolution | None = None
    lead = ""  # text after the county in the field that named it: it leads the place
    if code_text:
        r = regions.resolve_region(code_text) if code_text.isdigit() else regions.Resolution(code_text)
        if r.is_county and not r.remainder:
            found = r
        else:
            issues.append(FieldIssue("region_code", CODE_NOT_COUNTY(code=code_text)))
    if cnty or (cty and not name):
        r = regions.resolve_region(prov + cty + cnty)
        problem = regions.county_problem(r)
        if problem is not None:
            issues.append(FieldIssue("county" if cnty else "city", problem))
        elif found is None:
            found, lead = r, r.remainder
        elif r.code != found.code:
            issues.append(FieldIssue("county", regions.REGION_NOT_COUNTY(
                text=prov + cty + cnty, name=regions.full_name(found.code))))
    if name:
        if found is None and not issues:
            r = regions.resolve_region(prov + cty + name)
            problem = regions.county_problem(r)
            if problem is not None:
                issues.append(FieldIssue("region_name", problem))
            else:
                found, lead = r, r.remainder
        elif found is not None:
            r = regions.resolve_region(name)
            lead += r.remainder if r.is_county and r.code == found.code else name
    if found is None:
        if not issues:
            issues.append(FieldIssue("region_name", COUNTY_REQUIRED()))
        return Located(None, [], issues)
    listed = regions.split_places(place)
    places = [lead + p for p in listed] if listed else regions.split_places(lead)
    if len("、".join(places)) > PLACES_LIMIT or len(area_key(found.code or "", places)) > 255:
        issues.append(FieldIssue("place", PLACES_TOO_LONG(n=PLACES_LIMIT)))
    return Located(found.code, places, issues)
