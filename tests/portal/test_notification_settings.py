"""The profile's email settings (issue 19): one box per kind of notification, all ticked
until the person unticks one; the lifecycle job and the services read them through
partners.selectors.admins_who_want."""

import pytest
from django.urls import reverse

from partners.models import Membership
from partners.selectors import admins_who_want
from portal.models import User
from portal.scoping import unscoped
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

KINDS = list(User.Notification)


def preferences(user: User) -> dict[str, bool]:
    user.refresh_from_db()
    return {kind.value: getattr(user, kind.value) for kind in KINDS}


def test_every_kind_is_on_until_turned_off(world, client_for):
    page = client_for(world.reseller_admin).get(reverse("profile")).content.decode()
    for label in (
        "Email me about renewals",
        "Email me about delegated customers",
        "Email me about support contacts",
        "Email me about incentive credit",
        "Email me about partnerships",
    ):
        assert label in page
    for kind in KINDS:
        assert f'name="{kind.value}"' in page
    assert page.count("checked") == len(KINDS)
    assert all(preferences(world.reseller_admin).values())


@pytest.mark.parametrize("off", KINDS, ids=lambda kind: kind.value)
def test_the_profile_turns_one_kind_off_and_leaves_the_others_on(off, world, client_for):
    client = client_for(world.reseller_admin)
    ticked = {kind.value: "on" for kind in KINDS if kind is not off}
    response = client.post(reverse("profile"), ticked, follow=True)
    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert "Your email settings were saved." in response.content.decode()
    assert preferences(world.reseller_admin) == {kind.value: kind is not off for kind in KINDS}
    # And back on.
    client.post(reverse("profile"), {kind.value: "on" for kind in KINDS})
    assert all(preferences(world.reseller_admin).values())


def test_the_profile_changes_only_the_persons_own_settings(world, client_for):
    client_for(world.reseller_admin).post(reverse("profile"), {})
    assert not any(preferences(world.reseller_admin).values())
    assert all(preferences(world.provider_admin).values())


def test_admins_who_want_a_kind_are_the_active_admins_who_left_it_on(world):
    with unscoped("test setup"):
        for email, role, fields in [
            ("r1-b@example.test", Membership.Role.ADMIN, {"language": "zh-hans"}),
            ("r1-off@example.test", Membership.Role.ADMIN, {"delegation_emails": False}),
            ("r1-gone@example.test", Membership.Role.ADMIN, {"is_active": False}),
            ("r1-sales@example.test", Membership.Role.SALES_AGENT, {}),
            ("r1-support@example.test", Membership.Role.SUPPORT_AGENT, {}),
        ]:
            MembershipFactory(
                organization=world.reseller, role=role, user=UserFactory(email=email, **fields)
            )
    delegation = admins_who_want(org_id=world.reseller.pk, kind=User.Notification.DELEGATION)
    assert list(delegation) == [("r1-admin@example.test", ""), ("r1-b@example.test", "zh-hans")]
    renewals = admins_who_want(org_id=world.reseller.pk, kind=User.Notification.RENEWALS)
    assert [email for email, _ in renewals] == [
        "r1-admin@example.test",
        "r1-b@example.test",
        "r1-off@example.test",
    ]
