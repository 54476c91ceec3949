"""Import every kernel table so metadata (and Alembic) sees them."""

from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.models import ApiToken, LoginThrottle, Role, RolePermission, User, WebSession
from fangkong.kernel.db import Base, SystemSetting
from fangkong.kernel.idempotency import IdempotentRequest
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.keys.models import KeyRotation
from fangkong.kernel.messaging.models import OutboxMessage
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy.models import PolicyPack
from fangkong.kernel.scheduler.models import JobRun
from fangkong.kernel.tasks.models import Task, TaskEvent

__all__ = [
    "Address", "ApiToken", "AuditEvent", "Base", "IdempotentRequest", "ImportJob", "JobRun", "KeyRotation",
    "LoginThrottle", "OutboxMessage", "Person", "Place",
    "PolicyPack", "Role",
    "RolePermission", "SystemSetting", "Task", "TaskEvent", "Unit", "User", "WebSession",
]
