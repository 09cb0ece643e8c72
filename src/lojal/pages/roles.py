"""Staff roles and what each may do (pure: no database).

=============  =========  ========  ===========  =========
permission     owner      marketer  store_staff  read_only
=============  =========  ========  ===========  =========
dashboard      yes        yes       no           yes
members.view   yes        yes       yes          yes
points.adjust  yes        yes       no           no
program.view   yes        yes       no           yes
segments.view  yes        yes       no           yes
segments.edit  yes        yes       no           no
=============  =========  ========  ===========  =========

Store staff work the till: they find a member and see what the member sees, nothing of the
club's figures or settings. Read-only accounts (an accountant, an auditor) see everything and
change nothing. Staff accounts themselves are managed with ``lojal staff`` on the server.
"""

from __future__ import annotations

from typing import Final

OWNER: Final = "owner"
MARKETER: Final = "marketer"
STORE_STAFF: Final = "store_staff"
READ_ONLY: Final = "read_only"
ROLES: Final = (OWNER, MARKETER, STORE_STAFF, READ_ONLY)

PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "dashboard": frozenset({OWNER, MARKETER, READ_ONLY}),
    "members.view": frozenset(ROLES),
    "points.adjust": frozenset({OWNER, MARKETER}),
    "program.view": frozenset({OWNER, MARKETER, READ_ONLY}),
    "segments.view": frozenset({OWNER, MARKETER, READ_ONLY}),
    "segments.edit": frozenset({OWNER, MARKETER}),
}


def allows(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
