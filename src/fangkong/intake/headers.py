"""Header maps and words of intake files (导入表头): Chinese or English columns → canonical fields.

Canonical field names are the English column names reports use in `issues` (decisions.md).
"""

from __future__ import annotations

import unicodedata

from fangkong.kernel.clock import BadTime, parse_time  # noqa: F401 (re-exported for importers)

LEAD_COLUMNS: dict[str, list[str]] = {
    "name": ["姓名", "名字", "人员姓名", "full name", "person name"],
    "id_number": ["身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "id", "id no",
                  "id card", "id card number", "identity number"],
    "phone": ["手机号", "手机号码", "手机", "联系电话", "电话", "联系方式", "电话号码", "mobile", "mobile phone",
              "phone number", "telephone", "tel"],
    "origin": ["来源地", "来自", "出发地", "来源城市", "途经地", "来源地区", "from", "origin city", "coming from"],
    "arrival_at": ["抵达时间", "到达时间", "抵达日期", "到达日期", "入境时间", "来常时间", "返回时间", "arrival",
                   "arrival time", "arrived at", "arrival date"],
    "address": ["现住址", "居住地址", "住址", "现居住地址", "详细地址", "居住地", "地址", "current address",
                "home address", "residence"],
    "transport": ["交通方式", "交通工具", "出行方式", "车次航班", "transport mode", "travel by"],
    "reason": ["事由", "来常事由", "原因", "备注说明", "purpose"],
    "source_ref": ["编号", "序号编码", "线索编号", "推送编号", "来源编号", "ref", "reference", "source ref",
                   "lead id", "lead number"],
    "category": ["类别", "人员类别", "人员类型", "风险类别", "type", "person type", "lead category"],
    "received_at": ["推送时间", "接收时间", "上报时间", "received", "received time", "reported at"],
}

RISK_AREA_COLUMNS: dict[str, list[str]] = {
    # free text naming a county or a place inside one (with 省/市/县区 columns: the place inside)
    "region_name": ["区域", "区域名称", "风险区域", "地区", "名称", "region", "area", "area name", "name"],
    "region_code": ["区划代码", "行政区划代码", "代码", "县区代码", "code", "region code", "area code",
                    "county code"],
    # the national lists' columns (省, 市, 县区, 风险区名称)
    "province": ["省", "省份", "省区市", "省(区、市)", "省(自治区、直辖市)", "province"],
    "city": ["市", "城市", "地市", "地级市", "市(州)", "市(州、盟)", "市(地、州、盟)", "city", "prefecture"],
    "county": ["县区", "区县", "县(市、区)", "县(市、区、旗)", "县市区", "区(县)", "县(区)", "县", "区",
               "county", "district"],
    "place": ["风险区名称", "风险区", "风险区域名称", "具体区域", "具体地址", "风险点位", "小区/村",
              "街道/小区/村", "place", "place name", "risk area name"],
    "level": ["风险等级", "等级", "级别", "risk level", "risk"],
    "start_at": ["开始时间", "起始时间", "划定时间", "生效时间", "start", "from", "start time", "since"],
    "end_at": ["结束时间", "解除时间", "截止时间", "end", "until", "end time", "lifted at"],
    "source": ["来源", "发布单位", "依据", "source", "published by"],
}

#: a risk-area file must have one of these columns (where the area lies)
RISK_AREA_WHERE = ["region_name", "county", "region_code", "city"]

#: category words a file may use → policy category codes
CATEGORY_WORDS: dict[str, str] = {
    "密接": "close_contact", "密切接触者": "close_contact", "密切接触": "close_contact",
    "次密接": "secondary_contact", "密接的密接": "secondary_contact", "次密切接触者": "secondary_contact",
    "入境": "inbound_traveller", "入境人员": "inbound_traveller", "境外入境": "inbound_traveller",
    "高风险区": "high_risk_area", "高风险": "high_risk_area", "高风险区旅居": "high_risk_area",
    "高风险地区": "high_risk_area",
    "中风险区": "medium_risk_area", "中风险": "medium_risk_area", "中风险区旅居": "medium_risk_area",
    "中风险地区": "medium_risk_area",
    "低风险区": "low_risk_area", "低风险": "low_risk_area", "低风险区旅居": "low_risk_area",
    "低风险地区": "low_risk_area",
    "时空伴随": "colocation", "时空伴随者": "colocation", "时空交集": "colocation",
    "货车司机": "truck_driver", "货车司乘": "truck_driver", "货车司乘人员": "truck_driver",
    "混采阳性": "positive_pool_member", "混管阳性": "positive_pool_member", "混采阳性管内人员": "positive_pool_member",
    "出院病例": "case_discharge", "出院": "case_discharge", "出舱": "case_discharge",
    "其他": "other", "其它": "other",
    # English words beyond the codes themselves
    "close contact": "close_contact", "secondary contact": "secondary_contact",
    "inbound": "inbound_traveller", "inbound traveller": "inbound_traveller",
    "high risk area": "high_risk_area", "medium risk area": "medium_risk_area",
    "low risk area": "low_risk_area", "co-location": "colocation", "truck driver": "truck_driver",
    "positive pool": "positive_pool_member",
}

LEVEL_WORDS: dict[str, str] = {
    "high": "high", "高": "high", "高风险": "high", "高风险区": "high",
    "medium": "medium", "中": "medium", "中风险": "medium", "中风险区": "medium",
    "low": "low", "低": "low", "低风险": "low", "低风险区": "low",
}


def _word(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().replace("_", " ").split())


def parse_category(text: str, known: set[str] | frozenset[str]) -> str | None:
    """A category word or code → a code of the pack; None when not recognised."""
    w = _word(text)
    code = w.replace(" ", "_")
    if code in known:
        return code
    found = CATEGORY_WORDS.get(w) or CATEGORY_WORDS.get(w.replace(" ", ""))
    return found if found in known else None


def parse_level(text: str) -> str | None:
    return LEVEL_WORDS.get(_word(text).replace(" ", ""))


# ----------------------------------------------------------------------------------------------- time


#: the feedback sheet (核查反馈表): what was done about each pushed lead, and when
OUTCOME_COLUMNS: dict[str, list[str]] = {
    "source_ref": ["来源编号", "线索编号", "推送编号", "编号", "source_ref", "source ref", "reference"],
    "channel": ["渠道", "来源渠道", "线索渠道", "channel"],
    "outcome": ["核查结果", "结果", "处置结果", "outcome", "result"],
    "managed_at": ["核查时间", "即管时间", "核查完成时间", "managed_at", "managed at", "verified at"],
    "controlled_at": ["管控时间", "即控时间", "落实管控时间", "controlled_at", "controlled at"],
    "measure": ["管控措施", "措施", "measure"],
}
