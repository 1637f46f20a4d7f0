"""Issue 19: the dashboards say what needs attention. Each figure's value, the list its
link lands on (filtered to the same set), its empty state, both roles, tenant isolation,
the cache behind the big counts, and the chart's data table."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from partners.counts import forget_reseller_counts
from partners.models import AuditEvent, Partnership, PartnershipRequest
from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.factories import (
    CustomerFactory,
    OfferFactory,
    ProviderFactory,
    ResellerFactory,
    SubscriptionFactory,
    partner_of,
)

pytestmark = pytest.mark.django_db


def make_request(provider, email, *, failed=False, **fields) -> PartnershipRequest:
    email_row = None
    if failed:
        email_row = OutboundEmail.objects.create(
            to=email, subject="s", body_text="b", status=OutboundEmail.Status.FAILED
        )
    return PartnershipRequest.objects.create(
        provider=provider,
        email=email,
        subject="Partner with us",
        body="…",
        token_digest=f"digest-{provider.pk}-{email}",
        expires_at=fields.pop("expires_at", timezone.now() + datetime.timedelta(days=30)),
        outbound_email=email_row,
        **fields,
    )


@pytest.fixture
def portfolio(world):
    """P1 with two active resellers (R1 with customers, Idle with none) and an ended one;
    four requests (two open, one of them failed; one expired; one accepted); three
    customers; subscriptions of two offers in several states; twelve activity entries.
    P2 has data of every kind too, which P1's figures must never include."""
    with unscoped("test setup"):
        p1, p2, r1 = world.provider, world.other_provider, world.reseller
        idle = ResellerFactory(name="Idle Reseller")
        ended = ResellerFactory(name="Former Reseller")
        partner_of(p1, r1)
        partner_of(p1, idle)
        partner_of(p1, ended, ended_at=timezone.now())
        make_request(p1, "open@one.example")
        make_request(p1, "broken@two.example", failed=True)
        make_request(p1, "late@three.example", expires_at=timezone.now())
        make_request(p1, "done@four.example", state=PartnershipRequest.State.ACCEPTED)
        basic, teams = OfferFactory(name="Business Basic"), OfferFactory(name="Teams Essentials")
        adatum = CustomerFactory(provider=p1, reseller=r1, company_name="Adatum")
        bellows = CustomerFactory(provider=p1, reseller=r1, company_name="Bellows")
        contoso = CustomerFactory(provider=p1, company_name="Contoso Pharma")
        SubscriptionFactory(customer=adatum, offer=basic, quantity=5)
        SubscriptionFactory(customer=bellows, offer=basic, quantity=3)
        SubscriptionFactory(customer=contoso, offer=teams, quantity=10, reseller=r1)
        SubscriptionFactory(
            customer=contoso, offer=teams, quantity=7, status=Subscription.Status.CANCELLED
        )
        SubscriptionFactory(
            customer=adatum, offer=teams, quantity=2, status=Subscription.Status.SUSPENDED
        )
        for n in range(12):
            AuditEvent.objects.create(
                organization=p1, provider=p1, verb="customer.created", target=f"Entry {n}"
            )
        # The other provider: a partner of R1 too, with its own of everything.
        partner_of(p2, r1)
        partner_of(p2, ResellerFactory(name="P2 Idle"))
        make_request(p2, "p2@five.example", failed=True)
        make_request(p2, world.reseller_admin.email)  # waiting for R1's answer
        p2_customer = CustomerFactory(provider=p2, reseller=r1, company_name="Northwind")
        SubscriptionFactory(customer=p2_customer, offer=basic, quantity=50)
        canary = Customer.objects.get(admin_user=world.customer_admin)
        SubscriptionFactory(customer=canary, offer=basic, quantity=40)
        AuditEvent.objects.create(
            organization=p2, provider=p2, verb="customer.created", target="P2 secret"
        )
    return {"basic": basic, "teams": teams, "idle": idle}


def dashboard(client, org) -> str:
    response = client.get(reverse("dashboard", kwargs={"org_slug": org.slug}))
    assert response.status_code == 200
    return response.content.decode()


def figure(html: str, href: str) -> int:
    """The value of the figure that links to href (as written in the HTML)."""
    match = re.search(
        rf'<a class="stat" href="{re.escape(href)}"><span class="stat__value">(\d+)</span>', html
    )
    assert match, f"no figure links to {href}"
    return int(match.group(1))


def landing(client, href: str):
    response = client.get(href.replace("&amp;", "&"))
    assert response.status_code == 200
    return response


def test_the_provider_dashboard_counts_what_needs_attention_and_links_to_the_same_set(
    world, client_for, portfolio
):
    client = client_for(world.provider_admin)
    html = dashboard(client, world.provider)
    p1 = f"/orgs/{world.provider.slug}"
    expected = {
        f"{p1}/resellers/": 2,  # R1 and Idle (the ended one is not active)
        f"{p1}/resellers/?customers=none": 1,  # Idle
        f"{p1}/resellers/?requests=open#requests-heading": 2,
        f"{p1}/resellers/?requests=failed#requests-heading": 1,
        f"{p1}/customers/": 3,
        f"{p1}/subscriptions/?status=active": 3,
    }
    for href, value in expected.items():
        assert figure(html, href) == value, href

    # Each link lands on a list of exactly that set.
    resellers = landing(client, f"{p1}/resellers/").context["table"]
    assert resellers.paginator.count == 2
    idle = landing(client, f"{p1}/resellers/?customers=none").context["table"]
    assert [row.record.reseller.name for row in idle.paginated_rows] == ["Idle Reseller"]
    opened = landing(client, f"{p1}/resellers/?requests=open").context["request_table"]
    assert sorted(row.record.email for row in opened.paginated_rows) == [
        "broken@two.example",
        "open@one.example",
    ]
    failed = landing(client, f"{p1}/resellers/?requests=failed").context["request_table"]
    assert [row.record.email for row in failed.paginated_rows] == ["broken@two.example"]
    assert landing(client, f"{p1}/customers/").context["table"].paginator.count == 3
    active = landing(client, f"{p1}/subscriptions/?status=active").context["table"]
    assert active.paginator.count == 3


def test_licenses_by_offer_count_active_subscriptions_and_link_to_them(
    world, client_for, portfolio
):
    client = client_for(world.provider_admin)
    html = dashboard(client, world.provider)
    p1 = f"/orgs/{world.provider.slug}"
    for offer, licenses, count in ((portfolio["basic"], 8, 2), (portfolio["teams"], 10, 1)):
        href = f"{p1}/subscriptions/?offer={offer.pk}&amp;status=active"
        row = re.search(
            rf'<a href="{re.escape(href)}">{offer.name}</a></td><td class="num">(\d+)</td>'
            rf'<td class="num">(\d+)</td>',
            html,
        )
        assert row, offer.name
        assert (int(row.group(1)), int(row.group(2))) == (licenses, count)
        assert landing(client, href).context["table"].paginator.count == count
    # The most licensed offer first.
    assert html.index("Teams Essentials</a>") < html.index("Business Basic</a>")


def test_the_provider_dashboard_lists_the_latest_ten_activity_entries(world, client_for, portfolio):
    html = dashboard(client_for(world.provider_admin), world.provider)
    feed = html[html.index('id="activity-heading"') :]
    feed = feed[: feed.index("</section>")]
    assert feed.count("<li>") == 10
    assert "Entry 11" in feed
    assert "Entry 1<" not in feed and "Entry 0" not in feed
    assert f'href="/orgs/{world.provider.slug}/activity/"' in feed
    assert "P2 secret" not in html


def test_another_providers_data_is_never_counted(world, client_for, portfolio):
    html = dashboard(client_for(world.other_provider_admin), world.other_provider)
    p2 = f"/orgs/{world.other_provider.slug}"
    assert figure(html, f"{p2}/resellers/") == 2
    assert figure(html, f"{p2}/resellers/?customers=none") == 1
    assert figure(html, f"{p2}/resellers/?requests=open#requests-heading") == 2
    assert figure(html, f"{p2}/resellers/?requests=failed#requests-heading") == 1
    assert figure(html, f"{p2}/customers/") == 2
    assert figure(html, f"{p2}/subscriptions/?status=active") == 2
    assert "Teams Essentials" not in html
    assert "Entry 11" not in html


def test_a_new_provider_sees_an_empty_state_for_every_figure(client_for, world):
    with unscoped("test setup"):
        provider = ProviderFactory(name="Brand New")
        admin = world.provider_admin
        provider.memberships.create(user=admin, role="admin")
    client = client_for(admin)
    with unscoped("test setup: forget the sign-in's own entry"):
        AuditEvent.objects.filter(provider=provider).delete()
    html = dashboard(client, provider)
    for hint in (
        "None yet: request a partnership to start.",
        "Every reseller has a customer.",
        "No request is waiting for an answer.",
        "Every email was delivered or is on its way.",
        "None yet: add a new customer for a reseller.",
        "None yet: submit an order from a customer's page.",
        "No active subscriptions yet, so no licenses to count.",
        "No new customers in the last 12 months.",
        "No activity yet.",
    ):
        assert hint in html, hint


def test_the_reseller_dashboard_counts_its_requests_customers_and_named_subscriptions(
    world, client_for, portfolio
):
    client = client_for(world.reseller_admin)
    html = dashboard(client, world.reseller)
    r1 = f"/orgs/{world.reseller.slug}"
    assert figure(html, f"{r1}/providers/#incoming-heading") == 1
    # Adatum and Bellows from P1, Northwind from P2.
    assert figure(html, f"{r1}/customers/") == 3
    assert figure(html, f"{r1}/subscriptions/?named=yes") == 1  # credited on Contoso's
    assert landing(client, f"{r1}/customers/").context["table"].paginator.count == 3
    named = landing(client, f"{r1}/subscriptions/?named=yes").context["table"]
    assert [row.record.customer.company_name for row in named.paginated_rows] == ["Contoso Pharma"]
    incoming = landing(client, f"{r1}/providers/")
    assert world.other_provider.name in incoming.content.decode()
    # A provider's figures are not on a reseller's dashboard.
    assert "Licenses by offer" not in html
    assert "Latest activity" not in html


def test_a_reseller_stops_counting_a_providers_customers_when_the_partnership_ends(
    world, client_for, portfolio
):
    with unscoped("test setup"):
        Partnership.objects.filter(reseller=world.reseller, provider=world.other_provider).update(
            ended_at=timezone.now()
        )
    html = dashboard(client_for(world.reseller_admin), world.reseller)
    assert figure(html, f"/orgs/{world.reseller.slug}/customers/") == 2


def test_a_new_reseller_sees_an_empty_state_for_every_figure(client_for, world):
    html = dashboard(client_for(world.reseller_admin), world.reseller)
    for hint in (
        "No request is waiting for you.",
        "None yet: providers delegate customers to you.",
        "None yet: providers name you on subscriptions.",
        "No new customers in the last 12 months.",
    ):
        assert hint in html, hint


def test_the_big_counts_are_cached_until_the_providers_customers_change(
    world, client_for, portfolio, django_capture_on_commit_callbacks
):
    client = client_for(world.provider_admin)
    customers = f"/orgs/{world.provider.slug}/customers/"
    assert figure(dashboard(client, world.provider), customers) == 3
    with unscoped("test setup"):
        CustomerFactory(provider=world.provider)  # behind the services' back
    assert figure(dashboard(client, world.provider), customers) == 3
    with django_capture_on_commit_callbacks(execute=True):
        forget_reseller_counts(provider_id=world.provider.pk)  # what the services call
    assert figure(dashboard(client, world.provider), customers) == 4


def test_the_chart_has_a_data_table_of_twelve_months(world, client_for, portfolio):
    html = dashboard(client_for(world.provider_admin), world.provider)
    chart = html[html.index('id="chart-heading"') :]
    chart = chart[: chart.index("</section>")]
    assert "<svg" in chart and 'role="img"' in chart
    table = chart[chart.index("<details") :]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td></tr>', table)
    assert len(rows) == 12
    this_month = timezone.localdate().strftime("%B %Y")
    assert rows[-1] == (this_month, "3")
    assert sum(int(n) for _month, n in rows) == 3
    assert chart.count('class="chart__bar"') == 1
