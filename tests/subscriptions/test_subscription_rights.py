"""Who may do what on a subscription: every role x every action, 404 for the rest."""

import pytest
from django.urls import reverse

from subscriptions.models import Subscription
from subscriptions.services.lifecycle import end_partnership  # the partnership and what it carried
from tests.subscriptions._shop import (
    ALL_ACTIONS,
    RIGHTS,
    action_payload,
    events,
    persona,
    snapshot,
    sub_url,
    update,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Who may do what: every role x every action
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(ALL_ACTIONS))
@pytest.mark.parametrize("role", list(RIGHTS))
def test_each_role_may_do_its_actions_and_gets_a_404_for_the_others(
    role, action, world, shop, client_for
):
    sub = shop.subscription
    if action == "reactivate":
        update(sub, status=Subscription.Status.SUSPENDED)
    user, org = persona(role, world, shop)
    data, change = action_payload(action, world, shop)
    before = snapshot(sub)
    response = client_for(user).post(
        sub_url(org, action, sub), {"version": before["version"], **data}
    )
    after = snapshot(sub)
    if action in RIGHTS[role]:
        assert response.status_code == 302
        assert response["Location"] == sub_url(org, "detail", sub)
        assert after == {
            **before,
            **change,
            "term": after["term"],
            "version": before["version"] + 1,
            "events": before["events"] + 1,
        }
        assert events(sub)[-1].actor == user and events(sub)[-1].organization == org
    else:
        assert response.status_code == 404
        assert after == before


@pytest.mark.parametrize("role", list(RIGHTS))
def test_the_cancel_confirmation_page_is_only_for_provider_admins_and_sales_agents(
    role, world, shop, client_for
):
    user, org = persona(role, world, shop)
    response = client_for(user).get(sub_url(org, "cancel", shop.subscription))
    assert response.status_code == (200 if "cancel" in RIGHTS[role] else 404)


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    for action in sorted(ALL_ACTIONS):
        response = client_for(None).post(sub_url(world.provider, action, sub), {"version": 1})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert snapshot(sub) == before


def test_a_delegated_reseller_loses_every_right_when_the_partnership_ends(world, shop, client_for):
    sub = shop.subscription
    end_partnership(org=world.reseller, actor=world.reseller_admin, partnership=shop.r1_partnership)
    before = snapshot(sub)
    client = client_for(world.reseller_admin)
    assert client.get(sub_url(world.reseller, "detail", sub)).status_code == 404
    assert (
        client.post(
            sub_url(world.reseller, "licenses", sub), {"version": 1, "quantity": 9}
        ).status_code
        == 404
    )
    assert snapshot(sub) == before


def test_the_customer_reads_its_subscriptions_in_its_own_area(world, shop, client_for):
    client = client_for(shop.customer.admin_user)
    body = client.get(reverse("customer-home")).content.decode()
    assert "Business Basic" in body
    assert client.get(sub_url(world.provider, "detail", shop.subscription)).status_code == 404
