"""Header maps of testing files (导入表头): Chinese or English columns → canonical fields.

Canonical names are the English column names that reports use in `issues` (decisions.md).
"""

from __future__ import annotations

_NAME = ["姓名", "名字", "人员姓名", "员工姓名", "被采样人", "full name", "person name"]
_ID = ["身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "id", "id no", "id card",
       "id card number", "identity number"]
_PHONE = ["手机号", "手机号码", "手机", "联系电话", "电话", "联系方式", "电话号码", "mobile", "mobile phone",
          "phone number", "telephone", "tel"]
_BARCODE = ["试管条码", "试管编号", "采样管条码", "采样管编号", "管码", "条码", "条形码", "样本编号", "tube", "barcode",
            "tube barcode", "tube code", "tube id", "sample barcode"]

ROSTER_COLUMNS: dict[str, list[str]] = {
    "name": _NAME,
    "id_number": _ID,
    "phone": _PHONE,
}

SAMPLE_COLUMNS: dict[str, list[str]] = {
    "tube_barcode": _BARCODE,
    "pool_size": ["混采数", "混采人数", "混管人数", "几合一", "管容量", "pool", "pool size", "persons per tube"],
    "name": _NAME,
    "id_number": _ID,
    "phone": _PHONE,
    "collected_at": ["采样时间", "采集时间", "采样日期", "collected", "collection time", "sampled at",
                     "sampling time"],
    "sampling_point": ["采样点", "采样点编号", "采样点代码", "采样点编码", "sampling point", "sampling point code",
                       "site", "site code"],
}

RESULT_COLUMNS: dict[str, list[str]] = {
    "tube_barcode": _BARCODE,
    "result": ["检测结果", "结果", "核酸结果", "test result", "outcome"],
    "ct": ["ct值", "ct", "ct value", "ct values"],
    "lab": ["检测机构", "检测单位", "实验室", "laboratory", "lab name"],
    "reported_at": ["报告时间", "结果时间", "出结果时间", "检测时间", "reported", "report time", "result time",
                    "reported time"],
}
