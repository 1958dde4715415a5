"""Who may do what: one table from role to permissions.

Front ends resolve the acting person to a role (None: not staff, who may do nothing) and
ask `allows`/`require` before every read of customer data and every action. The use cases
check again where the answer depends on the conversation (taking over a colleague's
conversation, creating tags), so no front end can forget it.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import PermissionDenied
from core.model import Role


class Permission(StrEnum):
    READ = "read"  # see conversations and customer data: lists, search, Home, profiles
    ACT = "act"  # reply, note, tag, snooze, resolve, reopen, take unassigned work, link
    START = "start"  # write first to a customer from a company account
    REASSIGN = "reassign"  # take or hand over a conversation assigned to someone else
    TEAM_STATS = "team_stats"  # the whole team's numbers
    MANAGE_TAGS = "manage_tags"  # create new tags
    MANAGE_TEMPLATES = "manage_templates"  # sync and edit templates


_AGENT = frozenset({Permission.READ, Permission.ACT, Permission.START})
_MANAGER = _AGENT | {Permission.REASSIGN, Permission.TEAM_STATS}
_ADMIN = _MANAGER | {Permission.MANAGE_TAGS, Permission.MANAGE_TEMPLATES}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: _AGENT,
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
}

_WHO = {
    Permission.READ: "Threadline's staff",
    Permission.ACT: "Threadline's staff",
    Permission.START: "Threadline's staff",
    Permission.REASSIGN: "managers and admins",
    Permission.TEAM_STATS: "managers and admins",
    Permission.MANAGE_TAGS: "admins",
    Permission.MANAGE_TEMPLATES: "admins",
}


def allows(role: Role | None, permission: Permission) -> bool:
    """`role` None means the person is not staff: nothing is allowed."""
    return role is not None and permission in ROLE_PERMISSIONS[role]


def who_may(permission: Permission) -> str:
    return _WHO[permission]


def require(role: Role | None, permission: Permission, what: str) -> None:
    if not allows(role, permission):
        raise PermissionDenied(what, who_may(permission))
