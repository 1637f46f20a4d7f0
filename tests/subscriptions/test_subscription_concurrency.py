"""Two people editing one subscription at once (the version check), and the database
constraints behind the forms.
"""

import datetime

import pytest
from django.db import IntegrityError, transaction

from portal.forms import STALE_PAGE
from subscriptions.models import Subscription
from tests.subscriptions._shop import (
    ALL_ACTIONS,
    STALE,
    act,
    action_payload,
    flashes,
    fresh,
    snapshot,
    sub_url,
    update,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Two people editing at once
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("action", sorted(ALL_ACTIONS))
def test_a_stale_form_is_refused_and_the_current_values_are_shown(action, world, shop, client_for):
    sub = shop.subscription
    if action == "reactivate":
        update(sub, status=Subscription.Status.SUSPENDED)
    seen = fresh(sub).version
    # Someone else adds licenses first.
    act(client_for(world.provider_sales), world.provider, "licenses", sub, quantity=21)
    current = snapshot(sub)
    assert current["version"] == seen + 1
    data, _change = action_payload(action, world, shop)
    if action == "licenses":
        data = {"quantity": 30}
    response = act(
        client_for(world.provider_admin), world.provider, action, sub, version=seen, **data
    )
    [message] = flashes(response)
    assert message.startswith(STALE)
    assert "Nothing was saved; these are its current values." in message
    assert snapshot(sub) == current
    body = response.content.decode()
    assert "<dd>21</dd>" in body
    assert f'name="version" value="{current["version"]}"' in body


# Cancel and Upgrade answer a GET with their confirmation page.
@pytest.mark.parametrize("action", sorted(ALL_ACTIONS - {"cancel", "upgrade"}))
def test_actions_only_answer_posts(action, world, shop, client_for):
    before = snapshot(shop.subscription)
    response = client_for(world.provider_admin).get(
        sub_url(world.provider, action, shop.subscription)
    )
    assert response.status_code == 405
    assert snapshot(shop.subscription) == before


def test_a_post_without_version_is_refused(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = client_for(world.provider_admin).post(
        sub_url(world.provider, "licenses", sub), {"quantity": 7}, follow=True
    )
    assert STALE_PAGE in flashes(response)  # the hidden version is the page's, not a field
    assert snapshot(sub) == before


# ------------------------------------------------------------------------------
# Database constraints
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"status": "unknown"},
        {"renewal_date": datetime.date(2000, 1, 1)},
    ],
    ids=["no-licenses", "unknown-status", "renews-before-start"],
)
def test_the_database_refuses_impossible_subscriptions(fields, shop):
    sub = shop.subscription
    before = snapshot(sub)
    with pytest.raises(IntegrityError), transaction.atomic():
        update(sub, **fields)
    assert snapshot(sub) == before
