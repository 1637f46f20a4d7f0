"""can(membership, action, obj): each object rule of partners/permissions.py, both ways.

`can()` is a function of the objects it is given (their kinds, roles and foreign keys), so
these build them in memory: tenancy, which decides what a view finds at all, is the
business of tests/test_tenancy.py and tests/reliability/test_isolation.py, and what the
pages show and refuse per role is tested there and in each app's view tests.
"""

import pytest
from django.template import Context, Template

from customers.models import Customer
from partners.models import Membership, Organization
from partners.permissions import PERMISSIONS, OrgPermissions, Rule, can
from subscriptions.models import Subscription

ADMIN, SALES, SUPPORT = (
    Membership.Role.ADMIN,
    Membership.Role.SALES_AGENT,
    Membership.Role.SUPPORT_AGENT,
)

# The cast: provider P (whose customers are C and D) and another provider Q (customer E);
# resellers R and S. C is delegated to R, D to S; E to no one.
P = Organization(pk=1, kind=Organization.Kind.PROVIDER, slug="p")
Q = Organization(pk=2, kind=Organization.Kind.PROVIDER, slug="q")
R = Organization(pk=3, kind=Organization.Kind.RESELLER, slug="r")
S = Organization(pk=4, kind=Organization.Kind.RESELLER, slug="s")
C = Customer(pk=10, provider=P, reseller=R)
D = Customer(pk=11, provider=P, reseller=S)
E = Customer(pk=12, provider=Q, reseller=None)


def member(org: Organization, role: str, pk: int | None = None) -> Membership:
    pk = pk or 100 + 10 * org.pk + len(role)
    return Membership(pk=pk, organization=org, user_id=pk, role=role)


def subscription(customer: Customer, **named) -> Subscription:
    return Subscription(pk=1000 + customer.pk, customer=customer, **named)


# Some of P's and R's members, and a member of R other than the asker.
P_ADMIN, P_SALES, P_SUPPORT = member(P, ADMIN), member(P, SALES), member(P, SUPPORT)
R_ADMIN, R_SALES, R_SUPPORT = member(R, ADMIN), member(R, SALES), member(R, SUPPORT)
R_OTHER = member(R, SUPPORT, pk=999)

# (action, who asks, about what, expected, why): every rule with a condition, both ways.
CASES = [
    # A reseller operates licenses only on subscriptions of customers delegated to it.
    ("subscriptions.operate", P_SALES, subscription(C), True, "provider's own customer"),
    ("subscriptions.renewal", R_SALES, subscription(C), True, "customer delegated to it"),
    ("subscriptions.renewal", R_ADMIN, subscription(D), False, "delegated to another reseller"),
    ("subscriptions.operate", P_SALES, subscription(E), False, "another provider's customer"),
    ("subscriptions.operate", R_SALES, subscription(C), True, "customer delegated to it"),
    ("subscriptions.operate", R_ADMIN, subscription(D), False, "delegated to another reseller"),
    (
        "subscriptions.operate",
        R_ADMIN,
        subscription(D, reseller=R, support_contact=R),
        False,
        "only credited for it and its support contact: read-only",
    ),
    ("subscriptions.operate", R_SUPPORT, subscription(C), False, "a support agent: role"),
    # Incentive, auto-renew, upgrade, cancel: the provider's sellers, on its own customers.
    ("subscriptions.manage", P_ADMIN, subscription(C), True, "provider's own customer"),
    ("subscriptions.manage", P_ADMIN, subscription(E), False, "another provider's customer"),
    ("subscriptions.manage", P_SUPPORT, subscription(C), False, "a support agent: role"),
    ("subscriptions.manage", R_ADMIN, subscription(C), False, "resellers never manage"),
    # Support agents (re)assign support too; resellers never choose who supports.
    ("subscriptions.support_contact", P_SUPPORT, subscription(C), True, "own customer"),
    ("subscriptions.support_contact", P_SUPPORT, subscription(E), False, "another's customer"),
    ("subscriptions.support_contact", R_ADMIN, subscription(C), False, "resellers never"),
    # New subscriptions: the provider's sellers, for its own customers.
    ("subscriptions.add", P_SALES, C, True, "provider's own customer"),
    ("subscriptions.add", P_SALES, E, False, "another provider's customer"),
    ("subscriptions.add", R_ADMIN, C, False, "resellers never order"),
    # Account details: the provider's sellers, and the reseller the customer is delegated to.
    ("customers.edit", P_SALES, C, True, "provider's own customer"),
    ("customers.edit", P_SALES, E, False, "another provider's customer"),
    ("customers.edit", R_SALES, C, True, "customer delegated to it"),
    ("customers.edit", R_ADMIN, D, False, "delegated to another reseller"),
    ("customers.edit", R_SUPPORT, C, False, "a support agent: role"),
    # Delegating a customer to a reseller: its provider's sellers.
    ("customers.delegate", P_SALES, C, True, "provider's own customer"),
    ("customers.delegate", P_SALES, E, False, "another provider's customer"),
    ("customers.delegate", P_SUPPORT, C, False, "a support agent: role"),
    # Admins remove members of their organization; anyone may leave.
    ("team.remove", R_ADMIN, R_OTHER, True, "an Admin removes someone else"),
    ("team.remove", P_ADMIN, R_OTHER, False, "an Admin of another organization"),
    ("team.remove", R_SUPPORT, R_SUPPORT, True, "anyone may leave"),
    ("team.remove", R_SALES, R_OTHER, False, "only Admins remove others"),
    ("team.remove", R_ADMIN, R_ADMIN, True, "an Admin may leave too"),
]


@pytest.mark.parametrize(
    ("action", "membership", "obj", "expected", "why"),
    CASES,
    ids=[f"{c[0]}: {c[4]}" for c in CASES],
)
def test_object_rule(action, membership, obj, expected, why):
    assert can(membership, action, obj) is expected, why
    # Templates ask the same through org_perms bound to the object.
    perms = OrgPermissions(membership, obj)
    assert getattr(perms, action.replace(".", "_", 1)) is expected


def test_every_object_rule_is_tested_both_ways():
    """A rule with a condition added later fails here until CASES says both ways."""
    conditional = {
        action
        for action, rules in PERMISSIONS.items()
        for rule in (rules if isinstance(rules, tuple) else (rules,))
        if rule.when is not None
    }
    for action in conditional:
        outcomes = {expected for a, _m, _o, expected, _w in CASES if a == action}
        assert outcomes == {True, False}, f"{action}: CASES need an allowed and a refused row"


@pytest.mark.parametrize(
    ("action", "membership", "expected"),
    [
        # Without an object: may the member take the action on something (menus, gates).
        ("team.remove", R_SUPPORT, True),  # their own membership, at least
        ("subscriptions.operate", R_SALES, True),
        ("subscriptions.operate", R_SUPPORT, False),
        ("subscriptions.manage", R_ADMIN, False),
        ("subscriptions.support_contact", P_SUPPORT, True),
        ("customers.delegate", R_ADMIN, False),
    ],
)
def test_without_an_object_only_roles_count(action, membership, expected):
    assert can(membership, action) is expected


def test_no_membership_may_do_nothing():
    assert not any(can(None, action) for action in PERMISSIONS)
    assert not can(None, "subscriptions.operate", subscription(C))


def test_an_unknown_action_is_an_error_not_a_no():
    with pytest.raises(KeyError):
        can(P_ADMIN, "subscriptions.operat")


WRONG_OBJECT = r"a rule on subscriptions\.Subscription was asked about a customers\.Customer"


def test_an_object_of_another_model_is_an_error_not_a_no():
    with pytest.raises(ValueError, match=WRONG_OBJECT):
        can(P_SALES, "subscriptions.manage", C)
    # Also for a role the rule would refuse anyway: the mistake shows on every role.
    with pytest.raises(ValueError, match=WRONG_OBJECT):
        can(R_SUPPORT, "subscriptions.manage", C)


def test_rules_without_a_condition_ignore_the_object():
    """A page bound to a subscription still shows the menu (customers.view, team.manage)."""
    assert can(P_SUPPORT, "customers.view", subscription(C))
    assert can(R_ADMIN, "team.manage", subscription(C))
    assert not can(R_SALES, "team.manage", subscription(C))


def test_every_rule_names_a_model_with_its_condition():
    for action, rules in PERMISSIONS.items():
        for rule in rules if isinstance(rules, tuple) else (rules,):
            assert isinstance(rule, Rule)
            assert (rule.on is None) == (rule.when is None), action


def test_templates_bind_a_row_with_the_on_filter():
    template = Template(
        "{% load partners %}{% for m in members %}{% with perms=org_perms|on:m %}"
        "{% if perms.team_manage %}manage{% elif perms.team_remove %}leave{% else %}-"
        "{% endif %}{% endwith %} {% endfor %}"
    )

    def render(membership):
        context = {"org_perms": OrgPermissions(membership), "members": [R_OTHER, membership]}
        return template.render(Context(context)).split()

    assert render(R_ADMIN) == ["manage", "manage"]
    assert render(R_SALES) == ["-", "leave"]


def test_a_template_asking_about_the_wrong_object_fails_loudly():
    """Not a silent empty string, as Django's templates give for most lookup errors."""
    template = Template("{% if org_perms.subscriptions_manage %}cancel{% endif %}")
    with pytest.raises(ValueError, match=WRONG_OBJECT):
        template.render(Context({"org_perms": OrgPermissions(P_SALES, C)}))


def test_without_org_perms_a_bound_row_may_do_nothing():
    template = Template(
        "{% load partners %}{% with perms=org_perms|on:m %}[{{ perms.team_remove }}]{% endwith %}"
    )
    assert template.render(Context({"m": R_OTHER})) == "[]"
