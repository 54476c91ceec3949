"""Field parsing for venue and scan rows: venue categories (场所类别) and scan times to the second. Pure, no
database. Times are parsed by the platform's one parser, `fangkong.kernel.clock.parse_time`."""

from __future__ import annotations

import datetime as dt
import unicodedata

from fangkong.kernel.messages import _, message, named_labels

# ----------------------------------------------------------------------------------------------- time

def whole_seconds(value: dt.datetime) -> dt.datetime:
    """Scans are kept to the second: co-location compares whole seconds exactly."""
    return value.replace(microsecond=0)


# ---------------------------------------------------------------------------------------- categories

#: the 39 venue categories of the venue-code practice (domain.md): code → Chinese label. The same codes
#: as the synthetic city's catalog (drill/catalog.py), which generates venues of these categories.
CATEGORIES: dict[str, str] = {
    "restaurant": "餐饮", "market": "农贸市场", "supermarket": "超市", "convenience_store": "便利店",
    "mall": "商场", "hotel": "宾馆酒店", "school": "学校", "kindergarten": "幼儿园",
    "training_centre": "培训机构", "office": "写字楼", "government_hall": "政务服务中心", "bank": "银行网点",
    "post_express": "邮政快递网点", "station": "公交地铁站", "clinic": "诊所", "hospital": "医院",
    "pharmacy": "药店", "gym": "健身房", "swimming_pool": "游泳馆", "stadium": "体育场馆",
    "cinema": "电影院", "theatre": "剧场", "ktv": "KTV", "bar": "酒吧", "bathhouse": "洗浴中心",
    "internet_cafe": "网吧", "chess_room": "棋牌室", "teahouse": "茶馆", "barber": "理发美容",
    "religious": "宗教场所", "park": "公园", "scenic_spot": "景区", "museum": "博物馆", "library": "图书馆",
    "care_home": "养老机构", "banquet_hall": "宴会厅", "gas_station": "加油站", "car_service": "汽车服务",
    "wholesale_market": "批发市场",
}
UNKNOWN_CATEGORY = message("venue.unknown_category", _("unknown category %(category)s, kept as written"))
_BY_LABEL = {unicodedata.normalize("NFKC", label).casefold(): code for code, label in CATEGORIES.items()}
#: pages show the label, never the code (kernel.messages.label_of("category.venue", code))
CATEGORY_LABELS = named_labels("category.venue", CATEGORIES)


def parse_category(text: str) -> tuple[str | None, str | None]:
    """(category, issue): a known code or Chinese label maps to its code; other text is kept as
    written (at most 32 characters) with an issue, since a sender's own categories are still useful."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        return None, None
    key = s.casefold().replace(" ", "_")
    if key in CATEGORIES:
        return key, None
    if s.casefold() in _BY_LABEL:
        return _BY_LABEL[s.casefold()], None
    return s[:32], UNKNOWN_CATEGORY(category=repr(s[:32]))
