"""May this member do this? The one table, and the one function that reads it.

`PERMISSIONS` maps an action ("subscriptions.operate") to its rule: which roles of which
kind of organization may take it and, for an action taken on one object, what must hold
of that object ("a reseller operates only subscriptions of customers delegated to it").
An action with several rules is allowed when any of them allows it ("Admins remove
members; anyone may remove themselves"). Anything not listed here is refused (404).

`can(membership, action, obj=None)`:
- without `obj`, the roles alone: may this member take the action on some object? The
  menu and the page gates ask this;
- with `obj`, the roles and the object's condition. An object of another model than the
  rule's `on` is a programming error (ValueError), never a quiet yes or no.

Tenancy is not decided here: which objects an organization may see at all is its scoped
managers' and selectors' business, and a view only asks about objects it found through
them. Business rules that answer with a message (cancel only within the window, the last
Admin stays) are the services'.

Who asks:
- Views: `portal.views.OrgView` declares an `action`; its dispatch asks `can()` with it,
  then again with the view's object (`get_permission_object()`) when it has one.
- Templates ask only `org_perms` (the context processor's `OrgPermissions`):
  `{% if org_perms.team_manage %}` asks for "team.manage". On a page about one object
  (a customer, a subscription) OrgView puts an `org_perms` bound to that object in the
  view's context, which Django puts above the context processors', so the same
  `org_perms.subscriptions_manage` asks about this subscription. For a row of a table,
  bind it to the row with the `on` filter of the `partners` tag library:
  `{% with perms=org_perms|on:record %}{% if perms.team_remove %}…`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partners.models import Membership, Organization

Kind = Organization.Kind
Role = Membership.Role

ALL_ROLES = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
SELLERS = frozenset({Role.ADMIN, Role.SALES_AGENT})
NOBODY: frozenset[str] = frozenset()


def administers_customer(membership: Membership, customer) -> bool:
    """Its provider, or the reseller its administration is delegated to. (A reseller that
    is only credited for, or supports, one of its subscriptions does not.)"""
    org = membership.organization
    administrator = customer.provider_id if org.kind == Kind.PROVIDER else customer.reseller_id
    return administrator == org.pk


def administers_subscription(membership: Membership, subscription) -> bool:
    return administers_customer(membership, subscription.customer)


def is_providers_own(membership: Membership, customer) -> bool:
    """The provider's own customer: only it orders for, or delegates, a customer."""
    return customer.provider_id == membership.organization_id


def same_organization(membership: Membership, member: Membership) -> bool:
    return member.organization_id == membership.organization_id


def is_self(membership: Membership, member: Membership) -> bool:
    return member.pk == membership.pk


@dataclass(frozen=True)
class Rule:
    """Roles per kind of organization, and, for an action on an object of model `on`
    ("app_label.Model"), the condition `when(membership, obj)` that must hold of it."""

    provider: frozenset[str] = NOBODY
    reseller: frozenset[str] = NOBODY
    on: str | None = None
    when: Callable[[Membership, Any], bool] | None = None

    def allows(self, membership: Membership, obj=None) -> bool:
        if obj is not None and self.on is not None and obj._meta.label != self.on:
            raise ValueError(f"a rule on {self.on} was asked about a {obj._meta.label}")
        roles = self.provider if membership.organization.kind == Kind.PROVIDER else self.reseller
        if membership.role not in roles:
            return False
        return obj is None or self.when is None or self.when(membership, obj)


CUSTOMER = "customers.Customer"
SUBSCRIPTION = "subscriptions.Subscription"
MEMBER = "partners.Membership"

PERMISSIONS: dict[str, Rule | tuple[Rule, ...]] = {
    "dashboard.view": Rule(provider=ALL_ROLES, reseller=ALL_ROLES),
    "resellers.view": Rule(provider=ALL_ROLES),
    "providers.view": Rule(reseller=ALL_ROLES),
    "customers.view": Rule(provider=ALL_ROLES, reseller=ALL_ROLES),
    "customers.add": Rule(provider=SELLERS),
    # Resellers administer the customers delegated to them (the seed's delegated admin).
    "customers.edit": Rule(
        provider=SELLERS, reseller=SELLERS, on=CUSTOMER, when=administers_customer
    ),
    "customers.delegate": Rule(provider=SELLERS, on=CUSTOMER, when=is_providers_own),
    "team.view": Rule(provider=ALL_ROLES, reseller=ALL_ROLES),
    "activity.view": Rule(provider=ALL_ROLES, reseller=ALL_ROLES),
    "team.manage": Rule(provider=ADMINS, reseller=ADMINS),
    # Admins remove anyone of their organization; anyone may remove themselves (leave).
    # Whether the last Admin may go is the service's rule, with its message.
    "team.remove": (
        Rule(provider=ADMINS, reseller=ADMINS, on=MEMBER, when=same_organization),
        Rule(provider=ALL_ROLES, reseller=ALL_ROLES, on=MEMBER, when=is_self),
    ),
    "partnerships.request": Rule(provider=SELLERS),
    "subscriptions.view": Rule(provider=ALL_ROLES, reseller=ALL_ROLES),
    # New subscriptions for a customer: its provider's sellers.
    "subscriptions.add": Rule(provider=SELLERS, on=CUSTOMER, when=is_providers_own),
    # Incentive reseller, auto-renew, upgrade, cancel: the provider's sellers. (Cancel
    # only within the window is the service's rule: it says when the window closed.)
    "subscriptions.manage": Rule(provider=SELLERS, on=SUBSCRIPTION, when=administers_subscription),
    # Support agents may (re)assign support; resellers never choose who supports.
    "subscriptions.support_contact": Rule(
        provider=ALL_ROLES, on=SUBSCRIPTION, when=administers_subscription
    ),
    # Licenses, suspend, reactivate: also the reseller the customer is delegated to, not
    # one only credited for or supporting the subscription (those only read).
    "subscriptions.operate": Rule(
        provider=SELLERS, reseller=SELLERS, on=SUBSCRIPTION, when=administers_subscription
    ),
    # Manage renewal (changes scheduled for the next term), and Renew an expired
    # subscription (a new term with the same offer and licenses, what auto-renew would
    # have done): the provider's sellers, and the sellers of the reseller the customer is
    # delegated to.
    "subscriptions.renewal": Rule(
        provider=SELLERS, reseller=SELLERS, on=SUBSCRIPTION, when=administers_subscription
    ),
    "partnerships.respond": Rule(reseller=ADMINS),
    "partnerships.end": Rule(provider=ADMINS, reseller=ADMINS),
}


def can(membership: Membership | None, action: str, obj=None) -> bool:
    """Whether the member may take `action` (on `obj`, when given). Unknown actions raise
    KeyError: a typo must not read as "no"."""
    if membership is None:
        return False
    rules = PERMISSIONS[action]
    if isinstance(rules, Rule):
        rules = (rules,)
    # Every rule is asked (no short cut) so that a wrong object fails on every role.
    return any([rule.allows(membership, obj) for rule in rules])


class OrgPermissions:
    """Template access to `can()`: `{% if org_perms.team_manage %}` asks for "team.manage",
    about `obj` when bound to one (see the module's docstring)."""

    def __init__(self, membership: Membership | None, obj=None):
        self._membership = membership
        self._obj = obj

    def on(self, obj) -> "OrgPermissions":
        return OrgPermissions(self._membership, obj)

    def __getattr__(self, name: str) -> bool:
        action = name.replace("_", ".", 1)
        if action not in PERMISSIONS:
            raise AttributeError(name)
        return can(self._membership, action, self._obj)
