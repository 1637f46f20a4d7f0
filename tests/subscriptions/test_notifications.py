"""Issue 19, Notifications: what one organization does to another emails the other's
Admins (the reseller's when a customer is delegated to it or taken away, when it is made
or stops being a support contact, when it is credited for subscriptions; the other side's
when a partnership ends), through the outbox, in each Admin's language; never anyone
else, never for a change that changes nothing, never twice for a double submit, and never
to an Admin who turned that kind off (the activity log records the change all the same).
"""

import uuid
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from customers.services import set_customer_reseller
from partners.models import AuditEvent, Membership
from portal.models import OutboundEmail, User
from portal.scoping import org_scope, unscoped
from subscriptions.services import lifecycle
from subscriptions.services.orders import add_subscriptions
from tests.factories import details, lines, submit, to_review
from tests.subscriptions._shop import act, flashes, fresh, member, update, url

pytestmark = pytest.mark.django_db

ALL_OFF = {kind.value: False for kind in User.Notification}


@dataclass
class Admins:
    """Besides the org's first Admin (English): one who reads Chinese, one who turned
    every kind of email off, and one whose account is deactivated."""

    zh: User
    off: User
    gone: User


def _admins(org, prefix: str) -> Admins:
    with unscoped("test setup"):
        zh = member(org, Membership.Role.ADMIN, f"{prefix}-zh@example.test")
        off = member(org, Membership.Role.ADMIN, f"{prefix}-off@example.test")
        gone = member(org, Membership.Role.ADMIN, f"{prefix}-gone@example.test")
        User.objects.filter(pk=zh.pk).update(language="zh-hans")
        User.objects.filter(pk=off.pk).update(**ALL_OFF)
        User.objects.filter(pk=gone.pk).update(is_active=False)
    return Admins(zh=zh, off=off, gone=gone)


@pytest.fixture
def r1(world, shop) -> Admins:
    return _admins(world.reseller, "r1")


@pytest.fixture
def p1(world, shop) -> Admins:
    return _admins(world.provider, "p1")


class Outbox:
    """The rows queued since it was opened."""

    def __init__(self):
        self.start = OutboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first()

    def rows(self, template: str | None = None) -> list[OutboundEmail]:
        qs = OutboundEmail.objects.filter(pk__gt=self.start or 0).order_by("to", "pk")
        return list(qs.filter(template=template) if template else qs)

    def sent(self) -> list[tuple[str, str]]:
        return [(e.to, e.template) for e in self.rows()]

    def subjects(self, template: str) -> dict[str, str]:
        rows = self.rows(template)
        assert len(rows) == len({e.to for e in rows}), "someone got it twice"
        return {e.to: e.subject for e in rows}


R1_ADMINS = ["r1-admin@example.test", "r1-zh@example.test"]


def activity(verb: str) -> list[AuditEvent]:
    with unscoped("test: read the activity log"):
        return list(AuditEvent.objects.filter(verb=verb))


def mute(users, kind: User.Notification) -> None:
    with unscoped("test setup"):
        User.objects.filter(pk__in=[u.pk for u in users]).update(**{kind.value: False})


# ------------------------------------------------------------------------------
# A customer delegated to the reseller, or taken away
# ------------------------------------------------------------------------------
def delegate(client, world, customer, reseller):
    return client.post(
        url(world.provider, "customers:reseller", pk=customer.pk),
        {"reseller": reseller.pk},
        follow=True,
    )


def test_delegating_a_customer_emails_the_resellers_admins_only(world, shop, r1, client_for):
    outbox = Outbox()
    response = delegate(
        client_for(world.provider_sales), world, shop.plain_customer, world.reseller
    )
    assert "Fabrikam Test now administers Coho Winery." in flashes(response)
    # Not its sales or support agents, nor the Admin who turned it off, nor a
    # deactivated one, nor anyone at the provider or another reseller.
    assert outbox.sent() == [(to, "customer_delegated") for to in R1_ADMINS]
    subjects = outbox.subjects("customer_delegated")
    assert subjects["r1-admin@example.test"] == "Contoso Test delegated Coho Winery to you"
    assert subjects["r1-zh@example.test"] == "Contoso Test 已将 Coho Winery 委派给你"
    body = outbox.rows("customer_delegated")[0].body_text
    assert "Contoso Test made Fabrikam Test the reseller of its customer Coho Winery" in body


def test_changing_the_reseller_tells_each_reseller_only_about_itself(world, shop, r1, client_for):
    outbox = Outbox()
    delegate(client_for(world.provider_admin), world, shop.customer, shop.r2)
    assert outbox.sent() == [(to, "customer_delegation_removed") for to in R1_ADMINS] + [
        ("r2-admin@example.test", "customer_delegated")
    ]
    removed = outbox.rows("customer_delegation_removed")
    assert removed[0].subject == "Adatum Corp is no longer delegated to you"
    assert removed[1].subject == "Adatum Corp 不再委派给你"
    # The reseller that lost the customer is not told who has it now.
    assert all("Northwind" not in e.body_text for e in removed)


def test_removing_the_reseller_emails_the_one_that_had_it(world, shop, r1, client_for):
    outbox = Outbox()
    response = client_for(world.provider_sales).post(
        url(world.provider, "customers:reseller-remove", pk=shop.customer.pk), follow=True
    )
    assert "Fabrikam Test no longer administers Adatum Corp." in flashes(response)
    assert outbox.sent() == [(to, "customer_delegation_removed") for to in R1_ADMINS]


def test_choosing_the_same_reseller_again_emails_nobody(world, shop, r1, client_for):
    outbox = Outbox()
    response = delegate(client_for(world.provider_sales), world, shop.customer, world.reseller)
    assert any(m.startswith("Nothing changed") for m in flashes(response))
    # The service itself, without the page's check in front of it.
    set_customer_reseller(
        customer=shop.customer, actor=world.provider_admin, reseller=world.reseller
    )
    assert outbox.sent() == []


def test_a_double_submitted_delegation_emails_once(world, shop, r1, client_for):
    outbox = Outbox()
    client = client_for(world.provider_sales)
    delegate(client, world, shop.plain_customer, world.reseller)
    delegate(client, world, shop.plain_customer, world.reseller)
    assert outbox.sent() == [(to, "customer_delegated") for to in R1_ADMINS]


def test_delegation_emails_turned_off_still_leave_the_activity_entry(world, shop, r1, client_for):
    mute([world.reseller_admin, r1.zh], User.Notification.DELEGATION)
    outbox = Outbox()
    delegate(client_for(world.provider_sales), world, shop.plain_customer, world.reseller)
    assert outbox.sent() == []
    (entry,) = activity("customer.reseller_assigned")
    assert (entry.reseller_id, entry.target) == (world.reseller.pk, "Coho Winery")


def test_a_new_customer_with_a_reseller_tells_it_of_the_delegation_and_the_credit(
    world, shop, r1, client_for
):
    client = client_for(world.provider_sales)
    outbox = Outbox()
    review = to_review(
        client,
        world.provider,
        details(reseller=world.reseller.pk),
        lines((shop.basic, 3), (shop.premium, 10)),
    )
    assert submit(client, world.provider, review).status_code == 302
    assert submit(client, world.provider, review).status_code == 302  # a double submit
    assert outbox.sent() == [
        ("r1-admin@example.test", "customer_delegated"),
        ("r1-admin@example.test", "incentive_credited"),
        ("r1-zh@example.test", "customer_delegated"),
        ("r1-zh@example.test", "incentive_credited"),
    ]
    credited = outbox.rows("incentive_credited")[0]
    assert credited.subject == "Contoso Test credited you for 2 subscriptions of Adatum Corporation"
    assert "- Business Basic (3 licenses)" in credited.body_text
    assert "- Business Premium (10 licenses)" in credited.body_text


# ------------------------------------------------------------------------------
# Support contact: named, and no longer
# ------------------------------------------------------------------------------
def test_a_new_support_contact_is_told_and_the_one_it_replaces_too(world, shop, r1, client_for):
    sub = shop.subscription
    update(sub, support_contact=shop.r2)
    outbox = Outbox()
    act(
        client_for(world.provider_support),
        world.provider,
        "support-contact",
        sub,
        contact=world.reseller.pk,
    )
    assert outbox.sent() == [
        ("r1-admin@example.test", "support_contact_designated"),
        ("r1-zh@example.test", "support_contact_designated"),
        ("r2-admin@example.test", "support_contact_removed"),
    ]
    removed = outbox.rows("support_contact_removed")[0]
    assert removed.subject == "You are no longer the support contact for Adatum Corp"
    assert "Business Basic (5 licenses)" in removed.body_text
    zh = outbox.subjects("support_contact_designated")["r1-zh@example.test"]
    assert zh == "Contoso Test 已将你指定为 Adatum Corp 的支持联系人"


def test_returning_support_to_the_provider_tells_the_reseller_in_its_language(
    world, shop, r1, client_for
):
    sub = shop.subscription
    update(sub, support_contact=world.reseller)
    outbox = Outbox()
    act(
        client_for(world.provider_admin),
        world.provider,
        "support-contact",
        sub,
        contact=world.provider.pk,
    )
    assert outbox.subjects("support_contact_removed") == {
        "r1-admin@example.test": "You are no longer the support contact for Adatum Corp",
        "r1-zh@example.test": "你不再是 Adatum Corp 的支持联系人",
    }
    assert [e.to for e in outbox.rows()] == R1_ADMINS


def test_a_double_submitted_support_contact_emails_once(world, shop, r1, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    version = fresh(sub).version
    outbox = Outbox()
    for _ in range(2):  # the same form, read at the same version, posted twice
        response = act(
            client, world.provider, "support-contact", sub, version, contact=world.reseller.pk
        )
        assert "The designated support contact was saved." in flashes(response)
    act(client, world.provider, "support-contact", sub, contact=world.reseller.pk)  # no-op
    assert outbox.sent() == [(to, "support_contact_designated") for to in R1_ADMINS]


def test_support_contact_emails_turned_off_still_leave_the_activity_entry(
    world, shop, r1, client_for
):
    mute([world.reseller_admin, r1.zh], User.Notification.SUPPORT_CONTACT)
    outbox = Outbox()
    act(
        client_for(world.provider_admin),
        world.provider,
        "support-contact",
        shop.subscription,
        contact=world.reseller.pk,
    )
    assert outbox.sent() == []
    assert fresh(shop.subscription).support_contact_id == world.reseller.pk
    (entry,) = activity("subscription.support_contact_changed")
    assert entry.data["new"] == "Fabrikam Test"


# ------------------------------------------------------------------------------
# Incentive credit
# ------------------------------------------------------------------------------
def test_crediting_a_reseller_emails_its_admins_and_not_the_one_it_replaces(
    world, shop, r1, client_for
):
    outbox = Outbox()
    response = act(
        client_for(world.provider_sales),
        world.provider,
        "incentive",
        shop.subscription,
        reseller=world.reseller.pk,
    )
    assert "The reseller for incentive credit was saved." in flashes(response)
    assert outbox.subjects("incentive_credited") == {
        "r1-admin@example.test": "Contoso Test credited you for a subscription of Adatum Corp",
        "r1-zh@example.test": "Contoso Test 已将 Adatum Corp 的 1 个订阅的信用奖励归属于你",
    }
    assert outbox.sent() == [(to, "incentive_credited") for to in R1_ADMINS]  # not R2
    body = outbox.rows("incentive_credited")[0].body_text
    assert "Contoso Test associated Fabrikam Test with this subscription of Adatum Corp" in body
    assert "- Business Basic (5 licenses)" in body


def test_removing_or_repeating_the_credit_emails_nobody(world, shop, r1, client_for):
    client = client_for(world.provider_sales)
    outbox = Outbox()
    act(client, world.provider, "incentive", shop.subscription, reseller=shop.r2.pk)  # no-op
    act(client, world.provider, "incentive", shop.subscription, reseller="")
    assert fresh(shop.subscription).reseller_id is None
    assert outbox.sent() == []


def test_a_double_submitted_credit_emails_once(world, shop, r1, client_for):
    client = client_for(world.provider_sales)
    version = fresh(shop.subscription).version
    outbox = Outbox()
    for _ in range(2):
        act(
            client,
            world.provider,
            "incentive",
            shop.subscription,
            version,
            reseller=world.reseller.pk,
        )
    assert outbox.sent() == [(to, "incentive_credited") for to in R1_ADMINS]


def test_an_order_credited_to_a_reseller_sends_one_email_for_all_its_subscriptions(world, shop):
    key = uuid.uuid4()
    outbox = Outbox()
    for _ in range(2):  # the same order submitted twice
        with org_scope(world.provider):
            add_subscriptions(
                provider=world.provider,
                actor=world.provider_sales,
                customer=shop.customer,
                lines=[(shop.standard, 4), (shop.premium, 1)],
                reseller=shop.r2,
                confirm_no_incentive=False,
                idempotency_key=key,
            )
    (email,) = outbox.rows()
    assert (email.to, email.template) == ("r2-admin@example.test", "incentive_credited")
    assert email.subject == "Contoso Test credited you for 2 subscriptions of Adatum Corp"
    assert "- Business Standard (4 licenses)" in email.body_text
    assert "- Business Premium (1 license)" in email.body_text


def test_incentive_emails_turned_off_still_leave_the_activity_entry(world, shop, r1, client_for):
    mute([world.reseller_admin, r1.zh], User.Notification.INCENTIVE)
    outbox = Outbox()
    act(
        client_for(world.provider_sales),
        world.provider,
        "incentive",
        shop.subscription,
        reseller=world.reseller.pk,
    )
    assert outbox.sent() == []
    (entry,) = activity("subscription.incentive_reseller_changed")
    assert (entry.data["old"], entry.data["new"]) == ("Northwind Test", "Fabrikam Test")


# ------------------------------------------------------------------------------
# A partnership ends
# ------------------------------------------------------------------------------
def end(client, org, partnership):
    return client.post(url(org, "partners:partnership-end", pk=partnership.pk), follow=True)


def test_a_reseller_ending_the_partnership_tells_the_providers_admins_what_it_took(
    world, shop, p1, r1, client_for
):
    update(shop.subscription, support_contact=world.reseller)
    outbox = Outbox()
    response = end(client_for(world.reseller_admin), world.reseller, shop.r1_partnership)
    assert any(m.startswith("The partnership has ended.") for m in flashes(response))
    # Not the provider's agents, nor the reseller's own Admins (they did it).
    assert outbox.sent() == [
        ("p1-admin@example.test", "partnership_ended"),
        ("p1-zh@example.test", "partnership_ended"),
    ]
    english, chinese = outbox.rows()
    assert english.subject == "Fabrikam Test ended your partnership"
    assert "1 of your customers was delegated to Fabrikam Test" in english.body_text
    assert "You are the support contact again for 1 subscription" in english.body_text
    assert "已结束与你的合作关系" in chinese.body_text
    assert "你有 1 个客户曾委派给 Fabrikam Test" in chinese.body_text


def test_a_provider_ending_the_partnership_tells_the_resellers_admins(
    world, shop, p1, r1, client_for
):
    outbox = Outbox()
    end(client_for(world.provider_admin), world.provider, shop.r1_partnership)
    assert outbox.sent() == [(to, "partnership_ended") for to in R1_ADMINS]
    body = outbox.rows()[0].body_text
    assert "Contoso Test (Partner ID" in body
    assert "You no longer administer the 1 customer of Contoso Test" in body
    assert "support contact" not in body  # it was the contact for none


def test_ending_a_partnership_twice_emails_once(world, shop, p1):
    outbox = Outbox()
    lifecycle.end_partnership(
        org=world.reseller, actor=world.reseller_admin, partnership=shop.r1_partnership
    )
    with pytest.raises(ValidationError, match="already ended"):
        lifecycle.end_partnership(
            org=world.reseller, actor=world.reseller_admin, partnership=shop.r1_partnership
        )
    assert [e.to for e in outbox.rows()] == ["p1-admin@example.test", "p1-zh@example.test"]


def test_partnership_emails_turned_off_still_leave_the_activity_entry(world, shop, p1):
    mute([world.provider_admin, p1.zh], User.Notification.PARTNERSHIPS)
    outbox = Outbox()
    lifecycle.end_partnership(
        org=world.reseller, actor=world.reseller_admin, partnership=shop.r1_partnership
    )
    assert outbox.sent() == []
    assert len(activity("partnership.ended")) == 1
    assert len(activity("customer.delegation_ended")) == 1
