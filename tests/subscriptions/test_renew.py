"""Issue 16: Renew an expired subscription by hand, within its renewable window (90 days
after the term end), through the service and through its confirmation page. Time moves
by `as_of`, never by a patched clock."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from partners.models import AuditEvent, Membership, Partnership
from portal.models import OutboundEmail
from portal.scoping import org_scope, unscoped
from subscriptions.models import Subscription, SubscriptionEvent, renewal_date
from subscriptions.services.renewals import renew_subscription, run_lifecycle
from tests.factories import CustomerFactory, MembershipFactory, OfferFactory, SubscriptionFactory
from tests.reliability._orders import concurrently
from tests.subscriptions._shop import STALE, events, flashes, fresh, persona, sub_url, update
from tests.subscriptions.test_subscription_pages import DETAIL_QUERIES

D = datetime.date
END = D(2027, 3, 15)
UNTIL = END + datetime.timedelta(days=90)


def expired(world, **kwargs) -> Subscription:
    """A yearly subscription with auto-renew off, expired by the job at END."""
    with unscoped("test setup"):
        customer = kwargs.pop("customer", None) or CustomerFactory(
            provider=world.provider, company_name="Adatum Corp"
        )
        subscription = SubscriptionFactory(
            customer=customer,
            offer=kwargs.pop("offer", None) or OfferFactory(name="Business Basic", term="P1Y"),
            quantity=kwargs.pop("quantity", 7),
            term="P1Y",
            billing_frequency="annual",
            auto_renew=False,
            start_date=D(2026, 3, 15),
            renewal_date=END,
            **kwargs,
        )
    run_lifecycle(as_of=END)
    assert fresh(subscription).status == Subscription.Status.EXPIRED
    return subscription


def renew(world, subscription, *, as_of, version=None, actor=None, org=None):
    org = org or world.provider
    version = fresh(subscription).version if version is None else version
    with org_scope(org):
        return renew_subscription(
            subscription=subscription,
            actor=actor or world.provider_sales,
            org=org,
            as_of=as_of,
            version=version,
        )


def written(subscription) -> dict:
    """Everything a renewal writes, by table."""
    with unscoped("test: count what a renewal wrote"):
        return {
            "history": SubscriptionEvent.objects.filter(subscription=subscription).count(),
            "activity": AuditEvent.objects.filter(subscription_id=subscription.pk).count(),
            "outbox": OutboundEmail.objects.count(),
            "version": Subscription.objects.get(pk=subscription.pk).version,
        }


def renewed_events(subscription) -> list[SubscriptionEvent]:
    return [e for e in events(subscription) if e.verb == "renewed"]


# ------------------------------------------------------------------------------
# The service
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_renewing_within_the_window_starts_a_new_term_from_that_day(world):
    subscription = expired(world)
    as_of = END + datetime.timedelta(days=20)
    renew(world, subscription, as_of=as_of)

    renewed = fresh(subscription)
    assert renewed.status == Subscription.Status.ACTIVE
    assert (renewed.offer_id, renewed.quantity) == (subscription.offer_id, 7)
    assert (renewed.term, renewed.billing_frequency) == ("P1Y", "annual")
    assert renewed.term_start == as_of
    assert renewed.term_end == D(2028, 4, 4)
    # The cancellation window opens again, for seven days from the new term's start.
    assert renewed.cancellation_window_ends == as_of + datetime.timedelta(days=7)
    assert renewed.version == fresh(subscription).version


@pytest.mark.django_db
def test_a_renewal_writes_history_activity_and_the_notice(world):
    with unscoped("test setup"):
        # The same Admins as the job's renewal notice: the provider's, not its sales agents.
        MembershipFactory(organization=world.provider, role=Membership.Role.SALES_AGENT)
    subscription = expired(world, reseller=world.reseller)
    as_of = END + datetime.timedelta(days=3)
    before = written(subscription)
    renew(world, subscription, as_of=as_of)

    assert written(subscription) == {
        "history": before["history"] + 1,
        "activity": before["activity"] + 1,
        "outbox": before["outbox"] + 2,
        "version": before["version"] + 1,
    }
    (event,) = renewed_events(subscription)
    assert (event.actor, event.organization) == (world.provider_sales, world.provider)
    assert event.changes == {
        "manual": True,
        "expired_on": "2027-03-15",
        "term_start": "2027-03-18",
        "next_term_end": "2028-03-18",
        "licenses": 7,
    }
    with unscoped("test"):
        entry = AuditEvent.objects.get(subscription_id=subscription.pk, verb="subscription.renewed")
    assert (entry.actor, entry.organization) == (world.provider_sales, world.provider)
    mails = OutboundEmail.objects.filter(template="subscription_renewed_manually").order_by("to")
    assert [m.to for m in mails] == ["p1-admin@example.test", "r1-admin@example.test"]
    mail = mails[0]
    assert mail.subject == "Business Basic for Adatum Corp renewed after it expired"
    assert "which expired on March 15, 2027, was renewed by Contoso Test" in mail.body_text
    assert "(7 licenses)" in mail.body_text
    assert "for a new term from March 18, 2027 to March 18, 2028" in mail.body_text


@pytest.mark.django_db
def test_the_last_day_of_the_window_renews_and_the_day_after_is_refused(world):
    last_day = expired(world)
    renew(world, last_day, as_of=UNTIL)
    assert fresh(last_day).status == Subscription.Status.ACTIVE

    closed = expired(world)
    before = written(closed)
    with pytest.raises(ValidationError) as refused:
        renew(world, closed, as_of=UNTIL + datetime.timedelta(days=1))
    assert refused.value.code == "closed"
    assert "closed for good" in refused.value.messages[0]
    assert fresh(closed).status == Subscription.Status.EXPIRED
    assert written(closed) == before


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["active", "suspended", "cancelled"])
def test_only_an_expired_subscription_can_be_renewed(world, status):
    with unscoped("test setup"):
        subscription = SubscriptionFactory(
            customer=CustomerFactory(provider=world.provider),
            status=status,
            start_date=D(2026, 3, 15),
            renewal_date=END,
        )
    before = written(subscription)
    with pytest.raises(ValidationError) as refused:
        renew(world, subscription, as_of=END)
    assert refused.value.code == "not_expired"
    assert written(subscription) == before
    assert fresh(subscription).renewal_date == END


@pytest.mark.django_db
def test_a_stale_version_is_refused_and_nothing_is_written(world):
    subscription = expired(world)
    version = fresh(subscription).version
    update(subscription, version=version + 1)  # someone changed it since the page was read
    before = written(subscription)
    with pytest.raises(ValidationError) as refused:
        renew(world, subscription, as_of=END + datetime.timedelta(days=1), version=version)
    assert refused.value.code == "stale"
    assert fresh(subscription).status == Subscription.Status.EXPIRED
    assert written(subscription) == before


@pytest.mark.django_db
def test_the_same_confirmation_posted_twice_renews_once(world):
    subscription = expired(world)
    version = fresh(subscription).version
    as_of = END + datetime.timedelta(days=1)
    first = renew(world, subscription, as_of=as_of, version=version)
    after_first = written(subscription)
    # A day later, say, from a tab still open: the same version, the same renewal.
    second = renew(world, subscription, as_of=as_of + datetime.timedelta(days=1), version=version)
    assert second.renewal_date == first.renewal_date
    assert written(subscription) == after_first
    assert len(renewed_events(subscription)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_renew_once(world):
    subscription = expired(world)
    version = fresh(subscription).version
    as_of = END + datetime.timedelta(days=5)
    before = written(subscription)

    def confirm():
        return renew(world, subscription, as_of=as_of, version=version).renewal_date

    results = concurrently(confirm, confirm)
    assert results == [D(2028, 3, 20), D(2028, 3, 20)]
    assert len(renewed_events(subscription)) == 1
    assert written(subscription) == {
        "history": before["history"] + 1,
        "activity": before["activity"] + 1,
        "outbox": before["outbox"] + 1,
        "version": before["version"] + 1,
    }


@pytest.mark.django_db
def test_a_delegated_reseller_renews_on_its_own_behalf(world):
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
    subscription = expired(world, customer=customer)
    renew(
        world,
        subscription,
        as_of=END + datetime.timedelta(days=1),
        actor=world.reseller_admin,
        org=world.reseller,
    )
    (event,) = renewed_events(subscription)
    assert (event.actor, event.organization) == (world.reseller_admin, world.reseller)
    with unscoped("test"):
        entry = AuditEvent.objects.get(subscription_id=subscription.pk, verb="subscription.renewed")
    assert (entry.provider, entry.reseller) == (world.provider, world.reseller)


# ------------------------------------------------------------------------------
# The page: the Renew button, its confirmation page, who may use them
# ------------------------------------------------------------------------------
def expire_recently(subscription, days_ago: int = 10) -> None:
    """As if the job had expired it `days_ago` days ago (the view renews as of today)."""
    today = timezone.localdate()
    update(
        subscription,
        status=Subscription.Status.EXPIRED,
        auto_renew=False,
        term="P1Y",
        start_date=today - datetime.timedelta(days=365 + days_ago),
        renewal_date=today - datetime.timedelta(days=days_ago),
    )


RENEWERS = ["provider_admin", "provider_sales", "r1_admin", "r1_sales"]
REFUSED = [
    "provider_support",
    "r1_support",
    "r2_admin",
    "r3_admin",
    "other_provider_admin",
    "customer_admin",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", RENEWERS)
def test_the_renew_button_leads_to_a_page_that_says_what_happens_then_renews(
    role, world, shop, client_for
):
    sub = shop.subscription
    expire_recently(sub)
    user, org = persona(role, world, shop)
    client = client_for(user)
    today = timezone.localdate()

    page = client.get(sub_url(org, "detail", sub)).content.decode()
    renew_url = sub_url(org, "renew", sub)
    assert f'href="{renew_url}"' in page

    confirm = client.get(renew_url)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Renew the subscription" in body
    assert "Business Basic" in body
    assert "<dd>5</dd>" in body
    assert "starts a new paid term today" in body
    assert confirm.context["plan"]["term_end"] == renewal_date(today, "P1Y")

    response = client.post(renew_url, {"version": fresh(sub).version}, follow=True)
    assert response.redirect_chain[-1][0] == sub_url(org, "detail", sub)
    renewed = fresh(sub)
    assert renewed.status == Subscription.Status.ACTIVE
    assert renewed.renewal_date == renewal_date(today, "P1Y")
    (message,) = flashes(response)
    assert message.startswith("The subscription was renewed: it is active again")
    assert events(sub)[-1].actor == user
    assert "Renewed after it expired on" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", REFUSED)
def test_other_roles_get_404_and_no_button(role, world, shop, client_for):
    sub = shop.subscription
    expire_recently(sub)
    user, org = persona(role, world, shop)
    client = client_for(user)
    version = fresh(sub).version
    assert client.get(sub_url(org, "renew", sub)).status_code == 404
    assert client.post(sub_url(org, "renew", sub), {"version": version}).status_code == 404
    assert fresh(sub).status == Subscription.Status.EXPIRED
    detail = client.get(sub_url(org, "detail", sub))
    if detail.status_code == 200:
        assert sub_url(org, "renew", sub) not in detail.content.decode()


@pytest.mark.django_db
def test_a_closed_subscription_shows_no_button_and_refuses_with_a_message(world, shop, client_for):
    sub = shop.subscription
    expire_recently(sub, days_ago=91)
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "detail", sub)).content.decode()
    assert "closed for good" in page
    assert sub_url(world.provider, "renew", sub) not in page
    confirm = client.get(sub_url(world.provider, "renew", sub)).content.decode()
    assert "closed for good: it can no longer be renewed" in confirm
    assert "Renew</button>" not in confirm
    before = len(events(sub))
    response = client.post(
        sub_url(world.provider, "renew", sub), {"version": fresh(sub).version}, follow=True
    )
    (message,) = flashes(response)
    assert "closed for good" in message
    assert fresh(sub).status == Subscription.Status.EXPIRED
    assert len(events(sub)) == before


@pytest.mark.django_db
def test_an_active_subscription_has_nothing_to_renew(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    assert sub_url(world.provider, "renew", sub) not in (
        client.get(sub_url(world.provider, "detail", sub)).content.decode()
    )
    confirm = client.get(sub_url(world.provider, "renew", sub)).content.decode()
    assert "Only an expired subscription can be renewed; this one is active." in confirm
    before = fresh(sub)
    response = client.post(
        sub_url(world.provider, "renew", sub), {"version": before.version}, follow=True
    )
    assert flashes(response) == ["Only an expired subscription can be renewed; this one is active."]
    assert fresh(sub).renewal_date == before.renewal_date
    assert fresh(sub).version == before.version


@pytest.mark.django_db
def test_a_stale_confirmation_page_is_refused_with_a_message(world, shop, client_for):
    sub = shop.subscription
    expire_recently(sub)
    client = client_for(world.provider_admin)
    version = fresh(sub).version
    update(sub, version=version + 1)
    response = client.post(sub_url(world.provider, "renew", sub), {"version": version}, follow=True)
    (message,) = flashes(response)
    assert message.startswith(STALE)
    assert fresh(sub).status == Subscription.Status.EXPIRED


@pytest.mark.django_db
def test_a_double_click_on_renew_renews_once_and_says_so_twice(world, shop, client_for):
    sub = shop.subscription
    expire_recently(sub)
    client = client_for(world.provider_admin)
    version = fresh(sub).version
    url = sub_url(world.provider, "renew", sub)
    first = client.post(url, {"version": version}, follow=True)
    second = client.post(url, {"version": version}, follow=True)
    for response in (first, second):
        (message,) = flashes(response)
        assert message.startswith("The subscription was renewed")
    assert len(renewed_events(sub)) == 1
    assert fresh(sub).version == version + 1


@pytest.mark.django_db
def test_a_post_without_a_version_is_refused(world, shop, client_for):
    sub = shop.subscription
    expire_recently(sub)
    client = client_for(world.provider_admin)
    response = client.post(sub_url(world.provider, "renew", sub), {}, follow=True)
    (message,) = flashes(response)
    assert message.startswith("This page was out of date or incomplete, so nothing was saved.")
    assert fresh(sub).status == Subscription.Status.EXPIRED


@pytest.mark.django_db
def test_the_notice_and_the_page_speak_chinese(world, shop, client_for):
    with unscoped("test setup"):
        world.provider_admin.language = "zh-hans"
        world.provider_admin.save(update_fields=["language"])
    subscription = expired(world, quantity=3)
    renew(world, subscription, as_of=END + datetime.timedelta(days=2))
    mail = OutboundEmail.objects.get(template="subscription_renewed_manually")
    assert mail.subject == "Adatum Corp 的 Business Basic 已在过期后续订"
    assert "3 个许可证" in mail.body_text
    assert "现已由 Contoso Test 续订" in mail.body_text

    sub = shop.subscription
    expire_recently(sub)
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "renew", sub), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "续订订阅" in page.content.decode()


@pytest.mark.django_db
def test_an_expired_subscriptions_page_keeps_the_detail_query_budget(
    world, shop, client_for, django_assert_max_num_queries
):
    sub = shop.subscription
    expire_recently(sub)
    client = client_for(world.provider_admin)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        page = client.get(sub_url(world.provider, "detail", sub))
    assert sub_url(world.provider, "renew", sub) in page.content.decode()
