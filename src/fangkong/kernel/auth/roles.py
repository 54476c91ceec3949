"""Roles as data and the permission matrix (角色与权限). Seeded by `fangkong init`; editable in the
database. Capabilities add their own permission codes here as they arrive."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel.auth.models import Role, RolePermission

#: code → (Chinese name, English name)
ROLES: dict[str, tuple[str, str]] = {
    "admin": ("系统管理员", "Administrator"),
    "command": ("指挥中心", "Command centre"),
    "district": ("区县", "District"),
    "street": ("街道/镇", "Street / town"),
    "community": ("社区/村", "Community / village"),
    "grid": ("网格员", "Grid worker"),
    "checkpoint": ("卡口查验", "Checkpoint"),
    "sampler": ("采样人员", "Sampler"),
    "lab": ("检测机构", "Laboratory"),
    "epidemiologist": ("流调人员", "Epidemiologist"),
    "inspector": ("督查人员", "Inspector"),
    "enterprise": ("企业", "Enterprise"),
    "viewer": ("只读", "Viewer"),
}

#: permission code → Chinese description
PERMISSIONS: dict[str, str] = {
    "person.view": "查看人员(脱敏)",
    "person.unmask": "查看完整证件号和手机号",
    "person.edit": "登记和修改人员",
    "person.export": "导出人员数据",
    "unit.view": "查看属地树",
    "unit.manage": "管理属地树和地址库",
    "place.view": "查看场所",
    "place.manage": "管理场所",
    "task.view": "查看任务",
    "task.work": "办理任务",
    "task.assign": "分派任务",
    "user.manage": "管理用户和令牌",
    "audit.view": "查看审计日志",
    "policy.view": "查看政策包",
    "policy.manage": "管理政策包",
    "data.import": "导入数据",
    "data.export": "导出数据",
    "job.view": "查看定时作业及其运行记录",
    # intake (重点人员排查)
    "lead.view": "查看线索",
    "lead.import": "导入和登记线索",
    "lead.verify": "核查线索(四个查清)",
    "lead.export": "导出线索",
    "risk_area.manage": "管理风险地区",
    "person.split": "拆分误合并的人员",
    "measure.start": "落实和解除管控措施",
    "measure.checkin": "记录管控人员健康打卡(体温、症状)",
    # venues (场所码、时空伴随)
    "venues.view": "查看场所码、扫码覆盖情况",
    "venues.manage": "发放、轮换场所码,导入场所",
    "venues.poster": "打印本辖区场所的场所码",
    "venues.scan_staff": "在场所登记扫码、体温和口罩查验",
    "venues.flag": "标记未落实扫码的场所(督查)",
    "scans.upload": "批量上传扫码记录",
    "colocation.query": "时空伴随查询",
    # tracing (流调溯源)
    "case.view": "查看病例和流调",
    "case.manage": "登记病例、记录流调节点和传播关系",
    "contact.confirm": "确认密接、次密接和时空伴随者",
    "contact.upgrade": "将场所同时段人员升级为密接(流调人员研判)",
    # checkpoints (卡口、点对点闭环)
    "checkpoint.view": "查看卡口、查验记录和班次统计",
    "checkpoint.record": "卡口查验登记、班次交接",
    "trip.view": "查看货车行程(点对点闭环)",
    "trip.confirm": "确认货车到达(收货单位)",
    "trip.manage": "跟进逾期行程、滞留车辆和数据闭环差异,生成任务",
    # testing (应检尽检)
    "testing.sample": "采样登记",
    "testing.result": "报送检测结果",
    "testing.enrol": "纳入名单、申报人数",
    "testing.view": "查看应检尽检",
    # checkpoints: truck e-passes (电子通行证)
    "epass.issue": "签发和查询货车电子通行证",
    "epass.verify": "核验货车电子通行证",
    "epass.revoke": "吊销货车电子通行证、签发吊销清单",
    "epass.keys": "管理通行证签发密钥和信任的签发机关",
    # zones (风险区域、区域核酸)
    "zone.view": "查看风险区域和区域核酸",
    "zone.manage": "划定、降级和解除风险区域",
    "round.manage": "启动区域核酸、登记排除",
    # command (指挥部)
    "command.view": "查看指挥部指标、大屏和日报",
    "command.snapshot": "冻结和重算每日指标(更正)",
    "order.view": "查看本级下达和收到的指令",
    "order.issue": "向下级下达、转发指令",
    "order.work": "签收、落实和转发收到的指令",
    "inspection.view": "查看督查发现的问题和整改",
    "inspection.record": "登记督查发现的问题",
    "rectification.work": "提交整改证据",
    "rectification.verify": "复核整改(非提交人)",
    "exposure.publish": "曝光和撤下督查问题",
    # surveillance (哨点监测预警)
    "surveillance.view": "查看监测预警、运行预警算法",
    "sentinel.report": "报送哨点监测数据",
    "signal.review": "核实研判预警信号",
}

_READ = {"person.view", "unit.view", "place.view", "task.view", "policy.view"}
_WORK = _READ | {"task.work", "person.edit"}
_MANAGE = _WORK | {"person.unmask", "task.assign", "data.import", "data.export", "person.export"}

MATRIX: dict[str, set[str]] = {
    "admin": set(PERMISSIONS),
    "command": _MANAGE | {"audit.view", "policy.manage", "place.manage", "job.view"},
    "district": _MANAGE | {"unit.manage", "place.manage"},
    "street": _MANAGE | {"place.manage"},
    "community": _WORK | {"person.unmask", "task.assign", "data.import"},
    "grid": _WORK | {"person.unmask"},
    "checkpoint": {"person.view", "place.view", "task.view", "task.work", "person.edit"},
    "sampler": {"person.view", "place.view", "person.edit"},
    "lab": {"place.view", "data.import"},
    "epidemiologist": _WORK | {"person.unmask", "data.export"},
    "inspector": _READ | {"task.work"},
    "enterprise": {"person.view", "person.edit", "data.import", "place.view"},
    "viewer": set(_READ),
}

#: capability permission → the roles that hold it (admin holds every permission already)
CAPABILITY_GRANTS: dict[str, set[str]] = {
    "lead.view": set(ROLES) - {"lab", "enterprise"},
    "lead.import": {"command", "district", "street", "community", "checkpoint", "enterprise"},
    "lead.verify": {"command", "district", "street", "community", "grid"},
    "lead.export": {"command", "district", "street", "epidemiologist"},
    "risk_area.manage": {"command"},
    "person.split": {"command", "district", "street", "community"},
    "measure.start": {"command", "district", "street", "community", "grid"},
    "measure.checkin": {"community", "grid"},
    "venues.view": {"command", "district", "street", "community", "grid", "epidemiologist", "inspector", "viewer"},
    "venues.manage": {"command", "district", "street"},
    # community staff print their venues' posters; rotating a code stays with venues.manage
    "venues.poster": {"community"},
    "venues.scan_staff": {"community", "grid", "checkpoint", "enterprise"},
    "venues.flag": {"command", "district", "street", "inspector"},
    "scans.upload": {"command", "district", "street", "enterprise"},
    "colocation.query": {"command", "district", "epidemiologist"},
    "case.view": {"command", "district", "epidemiologist", "viewer"},
    "case.manage": {"command", "district", "epidemiologist"},
    "contact.confirm": {"command", "district", "epidemiologist"},
    "contact.upgrade": {"epidemiologist"},
    "checkpoint.view": {"command", "district", "street", "checkpoint", "epidemiologist", "inspector", "viewer"},
    "checkpoint.record": {"checkpoint"},
    "trip.view": {"command", "district", "street", "community", "checkpoint", "epidemiologist", "inspector", "viewer"},
    "trip.confirm": {"command", "district", "street", "community", "enterprise"},
    "trip.manage": {"command", "district", "street"},
    "testing.sample": {"sampler", "community"},
    "testing.result": {"lab"},
    "testing.enrol": {"command", "district", "street", "community", "enterprise"},
    "testing.view": {"command", "district", "street", "community", "grid", "epidemiologist", "inspector",
                     "viewer", "enterprise"},
    "epass.issue": {"command", "district"},
    "epass.verify": {"command", "district", "street", "checkpoint"},
    "epass.revoke": {"command", "district"},
    "epass.keys": {"command"},
    "zone.view": {"command", "district", "street", "community", "grid", "epidemiologist", "viewer"},
    "zone.manage": {"command", "district"},
    "round.manage": {"command", "district", "street", "community"},
    "command.view": {"command", "district", "street", "community", "inspector", "viewer"},
    "command.snapshot": {"command"},
    "order.view": {"command", "district", "street", "community", "grid", "inspector", "viewer"},
    "order.issue": {"command", "district", "street", "community"},
    "order.work": {"command", "district", "street", "community", "grid"},
    "inspection.view": {"command", "district", "street", "community", "grid", "inspector", "viewer"},
    "inspection.record": {"command", "district", "street", "inspector"},
    "rectification.work": {"command", "district", "street", "community", "grid"},
    "rectification.verify": {"command", "district", "street", "inspector"},
    "exposure.publish": {"command", "district"},
    "surveillance.view": {"command", "district", "street", "epidemiologist", "viewer"},
    "sentinel.report": {"command", "district", "street", "community", "enterprise"},
    "signal.review": {"command", "district", "epidemiologist"},
}
for _perm, _roles in CAPABILITY_GRANTS.items():
    for _role in _roles:
        MATRIX[_role].add(_perm)
MATRIX["community"].add("data.export")

#: administrative chain, lowest first: a level holds every permission of the levels below it, so a
#: manager can do (and create users for) whatever its subordinate units do
ADMIN_CHAIN = ("grid", "community", "street", "district", "command")
for _lower, _higher in itertools.pairwise(ADMIN_CHAIN):
    MATRIX[_higher] |= MATRIX[_lower]


def seed_roles(session: Session) -> int:
    """Insert missing roles and matrix cells; never removes what an administrator added. Returns inserts."""
    added = 0
    existing = set(session.execute(select(Role.code)).scalars())
    for code, (zh, en) in ROLES.items():
        if code not in existing:
            session.add(Role(code=code, name_zh=zh, name_en=en))
            added += 1
    session.flush()
    cells = {(r, p) for r, p in session.execute(select(RolePermission.role_code, RolePermission.permission))}
    for role, perms in MATRIX.items():
        for perm in sorted(perms):
            if (role, perm) not in cells:
                session.add(RolePermission(role_code=role, permission=perm))
                added += 1
    session.flush()
    return added


def permissions_of(session: Session, role_code: str) -> frozenset[str]:
    return frozenset(
        session.execute(select(RolePermission.permission).where(RolePermission.role_code == role_code)).scalars()
    )
