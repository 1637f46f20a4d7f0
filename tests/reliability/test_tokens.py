"""RELIABILITY.md §2: invitation tokens and the temporary password (T2.1-T2.6, T2.8-T2.10).

Links are created and answered through the real views; "at rest" means every text-like
column of every table plus every decoded session row (tests/reliability/_tokens.py).
"""

import hashlib
import html
import inspect
import logging
import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import partners.selectors
import partners.services.partnerships
from customers.services import temporary_password
from partners.models import MailboxProof, Partnership, PartnershipRequest, TeamInvitation
from portal.emails import personalized
from portal.middleware import ALLOWED_URL_NAMES
from portal.models import OutboundEmail
from portal.scoping import unscoped
from portal.tokens import new_token, token_digest
from tests.factories import (
    OfferFactory,
    UserFactory,
    create_through_wizard,
    details,
    draft_fields,
    lines,
    to_review,
)
from tests.reliability._tokens import (
    BAD_LOGIN,
    NEW_PASSWORD,
    PARTNERSHIP_LINK,
    change_password,
    invite_member_via_view,
    logged_in_as,
    login,
    new_customer_admin,
    path_of,
    race,
    request_partnership_via_view,
    rows,
    where_is,
)
from tests.routes import ORG_ROUTES, kwargs_for, our_routes

pytestmark = pytest.mark.django_db

ACCEPT = "partnership-accept"
TEAM_ACCEPT = "team-invitation-accept"
INVITED = "boss@newco.example"


@pytest.fixture
def newco(world):
    """An enrolled reseller whose Admin owns the invited address (verified)."""
    from tests.factories import MembershipFactory, ResellerFactory

    boss = UserFactory(email=INVITED)
    org = MembershipFactory(user=boss, organization=ResellerFactory(name="Newco IT")).organization
    return SimpleNamespace(org=org, boss=boss)


def open_link(client, link, accept_name=ACCEPT):
    response = client.get(path_of(link))
    assert response.status_code == 302, (link, response.status_code)
    assert response["Location"] == reverse(accept_name)
    return response


def accept(client, reseller=None):
    data = {"decision": "accept"}
    if reseller is not None:
        data["reseller"] = reseller.pk
    return client.post(reverse(ACCEPT), data)


def body(response) -> str:
    return html.unescape(response.content.decode())


# ------------------------------------------------------------------------------
# T2.1 Entropy and policy
# ------------------------------------------------------------------------------
@pytest.mark.django_db(False)
def test_t2_1_tokens_and_temporary_passwords_are_unique_long_and_pass_the_policy():
    pairs = [new_token() for _ in range(10_000)]
    tokens = [token for token, _ in pairs]
    assert len(set(tokens)) == 10_000
    assert len({digest for _, digest in pairs}) == 10_000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,}", token) for token in tokens)
    assert all(digest == token_digest(token) for token, digest in pairs)

    passwords = [temporary_password() for _ in range(10_000)]
    assert len(set(passwords)) == 10_000
    assert min(map(len, passwords)) >= 16
    # The account it is checked against looks like the real one (similarity validator).
    admin = get_user_model()(
        email="admin@adatum-example.portal.example", first_name="Dana", last_name="Lee"
    )
    validators = get_default_password_validators()
    assert len(validators) == 4  # similarity, length, common, numeric
    failures = []
    for password in passwords:
        try:
            validate_password(password, admin, password_validators=validators)
        except Exception as exc:  # collected, so the assertion names them
            failures.append((password, exc))
    assert failures == []


# ------------------------------------------------------------------------------
# T2.2 The token at rest
# ------------------------------------------------------------------------------
def test_t2_2_the_raw_token_is_stored_nowhere_only_its_sha256(world, newco, client_for):
    """Not in any column of any table nor any session, including the outbox rows of the
    emails that carry the links while they wait to be sent (issue 14, finding 3): the
    rows hold a marker, the links are sealed beside them."""
    provider = client_for(world.provider_admin)
    url = reverse("partners:request-create", kwargs={"org_slug": world.provider.slug})
    draft = provider.post(url, {"email": INVITED, "contact_name": ""}).content.decode()
    link = PARTNERSHIP_LINK.search(draft)
    link, token = link.group(0), link.group(1)
    team_link, team_token = invite_member_via_view(provider, world.provider, "new@example.test")
    # The links are opened too: the sessions then hold the request's digest, not the token.
    open_link(client_for(newco.boss), link)
    open_link(Client(), team_link, TEAM_ACCEPT)

    assert where_is(token) == []
    with unscoped("assert"):
        stored = PartnershipRequest.objects.get(email=INVITED).token_digest
        team_stored = TeamInvitation.objects.get(email="new@example.test").token_digest
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert team_stored == hashlib.sha256(team_token.encode()).hexdigest()

    # The invitation email is QUEUED (no worker here): its row holds the marker only.
    invitation = OutboundEmail.objects.get(to="new@example.test")
    assert invitation.status == "queued"
    assert where_is(team_token) == []
    assert "{personalized link}" in invitation.body_text
    assert team_link in personalized(invitation).text  # the worker will send the link
    with unscoped("test"):
        pk = PartnershipRequest.objects.get(email=INVITED).pk
    send = reverse("partners:request-send", kwargs={"org_slug": world.provider.slug, "pk": pk})
    assert provider.post(send, draft_fields(draft)).status_code == 302
    request_email = OutboundEmail.objects.get(to=INVITED)
    assert request_email.status == "queued"
    assert where_is(token) == []
    assert link in personalized(request_email).text


# ------------------------------------------------------------------------------
# T2.3 A mail scanner opening the link
# ------------------------------------------------------------------------------
def test_t2_3_opening_links_five_times_writes_nothing_and_drops_the_token(world, newco, client_for):
    provider = client_for(world.provider_admin)
    link, token = request_partnership_via_view(provider, world.provider, INVITED)
    team_link, team_token = invite_member_via_view(provider, world.provider, INVITED)
    before = rows()
    for scanner in (Client(), client_for(newco.boss)):  # anonymous and the right person
        for url, secret, accept_name in (
            (link, token, ACCEPT),
            (team_link, team_token, TEAM_ACCEPT),
        ):
            for _ in range(5):
                response = open_link(scanner, url, accept_name)
                assert secret not in response["Location"]
                assert response["Referrer-Policy"] == "no-referrer"
            page = scanner.get(response["Location"])
            assert page.status_code == 200
            # The token-less page keeps the site's policy: no-referrer there would make
            # Chromium post Accept with "Origin: null", which CSRF refuses.
            assert page["Referrer-Policy"] == "same-origin"
            assert secret not in page.content.decode()
            # Accepting is POST only: the link answers POST with 405.
            assert scanner.post(path_of(url)).status_code == 405
    assert rows() == before
    assert before["partnerships"] == 0


# ------------------------------------------------------------------------------
# T2.4 Accepting twice, in sequence and at the same moment
# ------------------------------------------------------------------------------
def test_t2_4_accepting_twice_in_sequence_creates_one_partnership(world, newco, client_for):
    link, _ = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, INVITED
    )
    client = client_for(newco.boss)
    open_link(client, link)
    first = accept(client)
    assert first.status_code == 302
    second = accept(client)
    assert second.status_code == 410
    assert "already been answered" in body(second)
    reopened = client.get(path_of(link))
    assert reopened.status_code == 410 and "already been answered" in body(reopened)
    with unscoped("assert"):
        assert Partnership.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_t2_4_two_tabs_accepting_at_once_create_one_partnership(world, newco, client_for):
    """The invited Admin runs two resellers and accepts for each in two tabs at once:
    one link, so one partnership; the other tab is told the request was answered."""
    from tests.factories import MembershipFactory, ResellerFactory

    other = MembershipFactory(user=newco.boss, organization=ResellerFactory(name="Other IT"))
    link, _ = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, INVITED
    )
    tabs = [client_for(newco.boss), client_for(newco.boss)]
    for tab in tabs:
        open_link(tab, link)
    results = race(lambda: accept(tabs[0], newco.org), lambda: accept(tabs[1], other.organization))

    assert [r.status_code for r in results] == [302, 302], results
    with unscoped("assert"):
        [partnership] = Partnership.objects.all()
    winner = 0 if partnership.reseller == newco.org else 1
    loser = tabs[1 - winner]
    assert results[1 - winner]["Location"] == reverse(ACCEPT)
    page = loser.get(reverse(ACCEPT))
    assert page.status_code == 410
    assert "already been answered" in body(page)

    # The same reseller twice at once (a double click): one partnership, both succeed.
    link, _ = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, "x@newco.example"
    )
    second = EmailAddress.objects.create(user=newco.boss, email="x@newco.example", verified=True)
    MailboxProof.objects.create(email_address=second, method=MailboxProof.Method.CODE)
    tabs = [client_for(newco.boss), client_for(newco.boss)]
    for tab in tabs:
        open_link(tab, link)
    org = other.organization
    results = race(lambda: accept(tabs[0], org), lambda: accept(tabs[1], org))
    assert [r.status_code for r in results] == [302, 302]
    with unscoped("assert"):
        assert Partnership.objects.filter(reseller=org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_t2_4_two_tabs_accepting_a_team_invitation_at_once_join_once(world, client_for):
    invitee = UserFactory(email="colleague@example.test")
    link, _ = invite_member_via_view(
        client_for(world.provider_admin), world.provider, invitee.email
    )
    tabs = [client_for(invitee), client_for(invitee)]
    for tab in tabs:
        open_link(tab, link, TEAM_ACCEPT)
    results = race(*(lambda tab=tab: tab.post(reverse(TEAM_ACCEPT)) for tab in tabs))

    dashboard = reverse("dashboard", kwargs={"org_slug": world.provider.slug})
    locations = sorted(r["Location"] for r in results)
    assert locations == sorted([dashboard, reverse(TEAM_ACCEPT)]), locations
    loser = tabs[[r["Location"] for r in results].index(reverse(TEAM_ACCEPT))]
    page = loser.get(reverse(TEAM_ACCEPT))
    assert page.status_code == 410 and "already been used" in body(page)
    assert invitee.memberships.count() == 1


# ------------------------------------------------------------------------------
# T2.5 Expired, revoked, replaced
# ------------------------------------------------------------------------------
def test_t2_5_expired_revoked_and_replaced_links_are_refused_and_write_nothing(
    world, newco, client_for
):
    provider = client_for(world.provider_admin)
    client = client_for(newco.boss)

    # Each link is opened first (its digest is in the session), then made unusable,
    # then accepted: the accept page checks again.
    link, _ = request_partnership_via_view(provider, world.provider, INVITED)
    open_link(client, link)
    with unscoped("test setup: the request expires"):
        PartnershipRequest.objects.filter(email=INVITED).update(expires_at=timezone.now())
    before = rows()
    refused = accept(client)
    assert refused.status_code == 410 and "has expired" in body(refused)
    assert client.get(path_of(link)).status_code == 410
    assert rows() == before

    link, _ = request_partnership_via_view(provider, world.provider, INVITED)
    open_link(client, link)
    with unscoped("test setup"):
        pk = PartnershipRequest.objects.get(email=INVITED, state="pending").pk
    provider.post(reverse("partners:request-revoke", kwargs={"org_slug": "p1", "pk": pk}))
    before = rows()
    refused = accept(client)
    assert refused.status_code == 410 and "withdrawn by the provider" in body(refused)
    assert rows() == before

    link, _ = request_partnership_via_view(provider, world.provider, INVITED)
    open_link(client, link)
    with unscoped("test setup"):
        pk = PartnershipRequest.objects.get(email=INVITED, state="pending").pk
    resent = provider.post(reverse("partners:request-resend", kwargs={"org_slug": "p1", "pk": pk}))
    new_link = re.search(r"http://\S+/partnerships/[A-Za-z0-9_-]+/", body(resent)).group(0)
    before = rows()
    refused = accept(client)  # the session still holds the replaced link's digest
    assert refused.status_code == 404
    assert "Open the link from the partnership request email again." in body(refused)
    old = client.get(path_of(link))
    assert old.status_code == 404 and "not valid" in body(old)
    assert rows() == before

    open_link(client, new_link)
    assert accept(client).status_code == 302
    with unscoped("assert"):
        assert Partnership.objects.get().reseller == newco.org


def test_t2_5_team_links_expired_revoked_and_replaced_are_refused(world, client_for):
    admin = client_for(world.provider_admin)
    invitee = UserFactory(email="colleague@example.test")
    client = client_for(invitee)
    org = world.provider.slug

    link, _ = invite_member_via_view(admin, world.provider, invitee.email)
    open_link(client, link, TEAM_ACCEPT)
    with unscoped("test setup"):
        TeamInvitation.objects.update(expires_at=timezone.now())
    before = rows()
    refused = client.post(reverse(TEAM_ACCEPT))
    assert refused.status_code == 410 and "has expired" in body(refused)

    link, _ = invite_member_via_view(admin, world.provider, invitee.email)
    open_link(client, link, TEAM_ACCEPT)
    with unscoped("test setup"):
        pk = TeamInvitation.objects.get(revoked_at=None, expires_at__gt=timezone.now()).pk
    admin.post(reverse("team:invitation-revoke", kwargs={"org_slug": org, "pk": pk}))
    refused = client.post(reverse(TEAM_ACCEPT))
    assert refused.status_code == 410 and "withdrawn" in body(refused)

    old_link, _ = invite_member_via_view(admin, world.provider, invitee.email)
    open_link(client, old_link, TEAM_ACCEPT)
    with unscoped("test setup"):
        pk = TeamInvitation.objects.get(revoked_at=None, expires_at__gt=timezone.now()).pk
    admin.post(reverse("team:invitation-resend", kwargs={"org_slug": org, "pk": pk}))
    refused = client.post(reverse(TEAM_ACCEPT))
    assert refused.status_code == 404
    assert client.get(path_of(old_link)).status_code == 404
    assert rows()["memberships"] == before["memberships"]
    assert rows()["accepted_invitations"] == 0

    new_link = re.search(
        r"http://\S+/team-invitations/\S+/",
        personalized(OutboundEmail.objects.filter(to=invitee.email).latest("pk")).text,
    ).group(0)
    open_link(client, new_link, TEAM_ACCEPT)
    assert client.post(reverse(TEAM_ACCEPT)).status_code == 302
    assert invitee.memberships.get().organization == world.provider


# ------------------------------------------------------------------------------
# T2.6 The right person only
# ------------------------------------------------------------------------------
def test_t2_6_a_different_or_unverified_address_cannot_accept(world, client_for):
    link, _ = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, INVITED
    )
    # Someone else's reseller Admin, with the link in hand.
    stranger = client_for(world.reseller_admin)
    open_link(stranger, link)
    before = rows()
    refused = stranger.post(reverse(ACCEPT), {"decision": "accept"}, follow=True)
    assert "This request was sent to boss@newco.example. Log in with that address" in body(refused)
    assert rows() == before

    # The invited address on the account, but not verified yet.
    from tests.factories import MembershipFactory, ResellerFactory

    unverified = UserFactory(email="main@other.example")
    MembershipFactory(user=unverified, organization=ResellerFactory())
    EmailAddress.objects.create(user=unverified, email=INVITED, verified=False)
    client = client_for(unverified)
    before = rows()
    open_link(client, link)
    page = body(client.get(reverse(ACCEPT)))
    assert "This request was sent to boss@newco.example" in page
    refused = client.post(reverse(ACCEPT), {"decision": "accept"}, follow=True)
    assert "(or add and verify it on your account) to answer it." in body(refused)
    assert rows() == before
    with unscoped("assert"):
        assert PartnershipRequest.objects.get().state == "pending"


# ------------------------------------------------------------------------------
# Timing-safe comparison
# ------------------------------------------------------------------------------
def test_secrets_are_found_by_digest_on_a_unique_index_or_compared_in_constant_time(
    world, client_for
):
    """No token is compared with `==` in Python. A link is resolved by an exact match on
    the unique digest column (PostgreSQL's btree sees a hash, not the token, so timing
    reveals nothing about it); the one place a token is compared to a stored value
    (Send on a draft, `link_matches`) uses hmac.compare_digest."""
    link, token = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, INVITED
    )
    with CaptureQueriesContext(connection) as queries:
        open_link(Client(), link)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert token not in sql
    assert f"\"token_digest\" = '{token_digest(token)}'" in sql

    for model in (PartnershipRequest, TeamInvitation):
        field = model._meta.get_field("token_digest")
        assert field.unique and field.max_length == 64
    matches = inspect.getsource(partners.services.partnerships.link_matches)
    assert "hmac.compare_digest(token_digest(token), request.token_digest)" in matches
    send = inspect.getsource(partners.services.partnerships.send_partnership_request)
    assert "link_matches(request, token)" in send
    for module in (partners.services.partnerships, partners.selectors):
        source = inspect.getsource(module)
        assert not re.search(r"token\w*\s*[!=]=|[!=]=\s*\w*token", source), module.__name__


# ------------------------------------------------------------------------------
# T2.8 / T2.9 The temporary password
# ------------------------------------------------------------------------------
@pytest.fixture
def offers(db):
    return SimpleNamespace(basic=OfferFactory(name="Business Basic"))


@pytest.mark.worker
def test_t2_8_the_temporary_password_is_nowhere_at_rest_in_logs_or_mail(
    world, offers, client_for, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        sales = client_for(world.provider_sales)
        customer, password = create_through_wizard(sales, world.provider, lines((offers.basic, 3)))
        # The customer's admin signs in with it and replaces it, then asks for a reset
        # link: its address is on the portal's own sign-in domain, which receives no
        # mail, so the form refuses and no message about this account is ever written.
        admin = Client()
        assert login(admin, customer.admin_user.email, password).status_code == 302
        assert change_password(admin, password).status_code == 302
        reset = Client().post(
            reverse("account_reset_password"), {"email": customer.admin_user.email}
        )
        assert reset.status_code == 200
        assert "They receive no email" in body(reset)
    finally:
        connection.force_debug_cursor = False

    assert where_is(password) == []
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "INSERT INTO" in logged  # the statements were captured...
    assert password not in logged  # ...without the plaintext
    assert not OutboundEmail.objects.filter(to__iexact=customer.admin_user.email).exists()
    customer.admin_user.refresh_from_db()
    hasher = identify_hasher(customer.admin_user.password)
    assert customer.admin_user.password.startswith(f"{hasher.algorithm}$")


def test_t2_9_the_setup_info_page_shows_the_password_once_to_its_creator_only(
    world, offers, client_for
):
    sales = client_for(world.provider_sales)
    colleague = client_for(world.provider_admin)  # same provider, may open the page
    review = to_review(sales, world.provider, details(), lines((offers.basic, 3)))
    from tests.factories import submit

    done = submit(sales, world.provider, review)
    assert done.status_code == 302
    url = done["Location"]

    before = colleague.get(url)  # the colleague gets there first
    first = sales.get(url)
    refresh = sales.get(url)
    after = colleague.get(url)

    password = re.search(r'id="setup-password">([^<]*)<', first.content.decode()).group(1)
    password = html.unescape(password)
    assert len(password) >= 16
    for response in (before, first, refresh, after):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
    for response in (before, refresh, after):
        assert "no longer available" in body(response)
        assert password not in body(response)
        assert 'id="setup-password"' not in body(response)


# ------------------------------------------------------------------------------
# T2.10 First login with the temporary password
# ------------------------------------------------------------------------------
def _every_named_path(world) -> dict[str, str]:
    """Our routes (the T1.1 walker) plus allauth's and the admin's argument-free ones."""
    from django.urls import NoReverseMatch, get_resolver

    paths = {}
    for route, pattern in our_routes().items():
        if route in ORG_ROUTES:
            paths[route] = reverse(route, kwargs=kwargs_for(route, world.provider, world))
        elif "<" not in pattern:
            paths[route] = reverse(route)
        else:
            paths[route] = reverse(route, kwargs={"token": "x" * 43})
    for name in get_resolver().reverse_dict:
        if isinstance(name, str) and name.startswith(("account_", "mfa_")):
            try:
                paths[name] = reverse(name)
            except NoReverseMatch:
                continue  # needs a key from an email
    paths["admin:index"] = reverse("admin:index")
    return paths


def test_t2_10_a_temporary_password_opens_only_the_password_change(world, client_for):
    admin, password = new_customer_admin(world)
    client = Client()
    assert login(client, admin.email, password).status_code == 302
    change = reverse("account_change_password")

    paths = _every_named_path(world)
    redirected, allowed = [], []
    for name, path in sorted(paths.items()):
        if name in ALLOWED_URL_NAMES:
            allowed.append(name)
            assert client.get(path).status_code == 200, name
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 302, (name, method, response.status_code)
            assert urlparse(response["Location"]).path == change, (name, method)
            redirected.append(name)
    assert len(set(redirected)) == len(paths) - len(ALLOWED_URL_NAMES) > 60
    assert set(allowed) == ALLOWED_URL_NAMES
    assert client.get(change).status_code == 200
    assert logged_in_as(client) == str(admin.pk)  # walking logged nobody out

    assert change_password(client, password).status_code == 302
    assert client.get(reverse("customer-home")).status_code == 200
    assert BAD_LOGIN in body(login(Client(), admin.email, password))
    assert login(Client(), admin.email, NEW_PASSWORD).status_code == 302

    # An expired temporary password: refused at login, with the reason.
    expired, old = new_customer_admin(world, domain="expired.example")
    type(expired).objects.filter(pk=expired.pk).update(
        temporary_password_expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = Client()
    response = late.post(
        reverse("account_login"), {"login": expired.email, "password": old}, follow=True
    )
    assert "Your temporary password has expired." in body(response)
    assert logged_in_as(late) is None
