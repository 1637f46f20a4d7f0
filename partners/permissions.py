"""What each role of each kind of organization may do: the one table.

Views declare an `action`; templates ask through the `org_perms` context variable.
Anything not listed here is refused (404).
"""

from partners.models import Membership, Organization

Kind = Organization.Kind
Role = Membership.Role

ALL_ROLES = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
SELLERS = frozenset({Role.ADMIN, Role.SALES_AGENT})

PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    "dashboard.view": {Kind.PROVIDER: ALL_ROLES, Kind.RESELLER: ALL_ROLES},
    "resellers.view": {Kind.PROVIDER: ALL_ROLES},
    "providers.view": {Kind.RESELLER: ALL_ROLES},
    "customers.view": {Kind.PROVIDER: ALL_ROLES, Kind.RESELLER: ALL_ROLES},
    "customers.add": {Kind.PROVIDER: SELLERS},
    # Resellers administer the customers delegated to them (the seed's delegated admin).
    "customers.edit": {Kind.PROVIDER: SELLERS, Kind.RESELLER: SELLERS},
    "customers.delegate": {Kind.PROVIDER: SELLERS},
    "team.view": {Kind.PROVIDER: ALL_ROLES, Kind.RESELLER: ALL_ROLES},
    "activity.view": {Kind.PROVIDER: ALL_ROLES, Kind.RESELLER: ALL_ROLES},
    "team.manage": {Kind.PROVIDER: ADMINS, Kind.RESELLER: ADMINS},
    "partnerships.request": {Kind.PROVIDER: SELLERS},
    "subscriptions.view": {Kind.PROVIDER: ALL_ROLES, Kind.RESELLER: ALL_ROLES},
    "subscriptions.add": {Kind.PROVIDER: SELLERS},
    # Incentive reseller, auto-renew, upgrade, cancel: the provider's sellers.
    "subscriptions.manage": {Kind.PROVIDER: SELLERS},
    # Support agents may (re)assign support; resellers never choose who supports.
    "subscriptions.support_contact": {Kind.PROVIDER: ALL_ROLES},
    # Licenses, suspend, reactivate: also a reseller the customer is delegated to.
    "subscriptions.operate": {Kind.PROVIDER: SELLERS, Kind.RESELLER: SELLERS},
    "partnerships.respond": {Kind.RESELLER: ADMINS},
    "partnerships.end": {Kind.PROVIDER: ADMINS, Kind.RESELLER: ADMINS},
}


def can(membership: Membership | None, action: str) -> bool:
    if membership is None:
        return False
    allowed = PERMISSIONS[action].get(membership.organization.kind, frozenset())
    return membership.role in allowed


class OrgPermissions:
    """Template access to `can()`: `{% if org_perms.team_manage %}` asks for "team.manage"."""

    def __init__(self, membership: Membership | None):
        self._membership = membership

    def __getattr__(self, name: str) -> bool:
        action = name.replace("_", ".", 1)
        if action not in PERMISSIONS:
            raise AttributeError(name)
        return can(self._membership, action)
