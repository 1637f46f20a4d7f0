"""Partnerships: Request a partnership and its draft email, and the emailed link (sign up, log
in, enroll, accept, decline).
"""

import hashlib
import html
import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from partners.models import AuditEvent, Membership, Organization, Partnership, PartnershipRequest
from partners.services.partnerships import accept_partnership, request_partnership
from portal.emails import personalized
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from tests.factories import PASSWORD, MembershipFactory, UserFactory, draft_fields
from tests.partners._partnerships import (
    LINK,
    count,
    open_link,
    partner,
    path_of,
    reseller_with_admin,
    start_request,
    url,
)
from tests.reliability._mailbox import emailed_code, enter_code, sign_up

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Request a partnership and the draft email
# ------------------------------------------------------------------------------
def test_requesting_records_a_pending_request_and_shows_a_draft(world, client_for):
    client = client_for(world.provider_sales)
    request, link, draft = start_request(client, world, contact_name="Olive Owner")
    assert request.state == "pending"
    assert request.requested_by == world.provider_sales
    assert request.expires_at > timezone.now() + timedelta(days=29)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, url-safe base64
    assert token not in request.token_digest and token not in request.body.replace(link, "")
    assert "Hello Olive Owner," in draft
    for label in ("Open in email", "Copy to clipboard", "Send", "Done"):
        assert f">{label}<" in draft
    assert 'href="mailto:owner@newreseller.example?subject=' in draft
    # Recorded whatever the provider chooses: the list shows it before any send.
    listing = client.get(url(world, "partners:reseller-list")).content.decode()
    assert "owner@newreseller.example" in listing
    assert "Not sent by the portal" in listing


def test_mailto_link_encodes_subject_and_body(world, client_for):
    from partners.views.partnerships import mailto_url

    mailto = mailto_url("a+b@example.test", "Hi & welcome?", "Line 1\nLine 2 = 100%")
    assert mailto == (
        "mailto:a%2Bb@example.test?subject=Hi%20%26%20welcome%3F"
        "&body=Line%201%0D%0ALine%202%20%3D%20100%25"
    )


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-address", "Enter a valid email address."),
        ("", "This field is required."),
    ],
)
def test_bad_addresses_are_refused_and_nothing_is_written(email, message, world, client_for):
    response = client_for(world.provider_admin).post(
        url(world, "partners:request-create"), {"email": email}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert count(PartnershipRequest) == 0


def test_an_address_of_a_current_partner_is_refused_naming_the_reseller(world, client_for):
    partner(world.provider, world.reseller)
    response = client_for(world.provider_admin).post(
        url(world, "partners:request-create"), {"email": world.reseller_admin.email}
    )
    page = html.unescape(response.content.decode())
    # Partner IDs are self-declared: the message says this one is not verified.
    pid = world.reseller.partner_id
    assert f"works for {world.reseller.name} (Partner ID {pid}, unverified)" in page
    assert "already your indirect reseller" in page
    assert count(PartnershipRequest) == 0


def test_a_second_pending_request_to_the_same_address_offers_resend(world, client_for):
    client = client_for(world.provider_admin)
    start_request(client, world)
    response = client.post(
        url(world, "partners:request-create"), {"email": "Owner@NewReseller.example"}
    )
    assert (
        "is already pending. To send a new link, use Resend on that request."
        in response.content.decode()
    )
    assert count(PartnershipRequest) == 1


def test_an_expired_request_no_longer_blocks_a_new_one(world, client_for):
    client = client_for(world.provider_admin)
    old, _, _ = start_request(client, world)
    with unscoped("test setup"):
        PartnershipRequest.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    start_request(client, world)
    with unscoped("assert"):
        assert PartnershipRequest.objects.get(pk=old.pk).state == "expired"
        assert PartnershipRequest.objects.filter(state="pending").count() == 1


def test_send_queues_the_edited_message_once(world, client_for):
    client = client_for(world.provider_admin)
    request, link, draft = start_request(client, world)
    fields = draft_fields(draft)
    fields["body"] += "\nLooking forward to working together."
    fields["subject"] = "Let's partner"
    send_url = url(world, "partners:request-send", pk=request.pk)
    response = client.post(send_url, fields, follow=True)
    assert response.redirect_chain[-1][0] == url(world, "partners:reseller-list")
    assert "sending your partnership request to owner@newreseller.example" in (
        response.content.decode()
    )
    email = OutboundEmail.objects.get()
    assert email.to == "owner@newreseller.example"
    assert email.subject == "Partnership request from Contoso Test: Let's partner"
    assert "Looking forward to working together." in email.body_text
    # The row keeps a marker where the link goes; the worker puts the link back.
    assert link not in email.body_text + email.body_html
    sent = personalized(email)
    assert link in sent.text
    assert f'href="{link}"' in sent.html
    # A double-click (or a reload of the POST) queues nothing more.
    again = client.post(send_url, fields, follow=True)
    assert "was already sent" in again.content.decode()
    assert OutboundEmail.objects.count() == 1
    with unscoped("assert"):
        request.refresh_from_db()
    assert request.outbound_email == email
    assert request.subject == "Let's partner"
    assert link not in request.body  # stored with a marker, never the token
    listing = again.content.decode()
    assert ">Queued</span>" in listing


def test_a_message_without_the_link_is_refused(world, client_for):
    client = client_for(world.provider_admin)
    request, link, draft = start_request(client, world)
    fields = draft_fields(draft)
    fields["body"] = fields["body"].replace(link, "(link removed)")
    response = client.post(url(world, "partners:request-send", pk=request.pk), fields)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Keep the link in the message" in page
    assert link in page  # shown again so it can be pasted back
    assert OutboundEmail.objects.count() == 0


def test_the_token_is_stored_nowhere(world, client_for):
    client = client_for(world.provider_admin)
    request, link, _ = start_request(client, world)
    token = link.rstrip("/").rsplit("/", 1)[1]
    with unscoped("assert"):
        request.refresh_from_db()
    assert request.token_digest == hashlib.sha256(token.encode()).hexdigest()
    text_columns = [
        f.name
        for f in PartnershipRequest._meta.fields
        if f.get_internal_type() in {"CharField", "TextField"}
    ]
    with unscoped("assert"):
        for column in text_columns:
            assert not PartnershipRequest.objects.filter(**{f"{column}__contains": token}).exists()
    assert not Session.objects.filter(session_data__contains=token).exists()
    for session in Session.objects.all():
        assert token not in str(session.get_decoded())
    with unscoped("assert"):
        assert all(token not in f"{e.target}{e.data}" for e in AuditEvent.objects.all())


def test_opening_the_link_repeatedly_changes_nothing_and_hides_the_token(world, client_for):
    _, link, _ = start_request(client_for(world.provider_admin), world)
    anonymous = client_for(None)
    for _ in range(5):
        response = anonymous.get(path_of(link))
        assert response.status_code == 302
        assert response["Location"] == reverse("partnership-accept")
        assert response["Referrer-Policy"] == "no-referrer"
    page = anonymous.get(reverse("partnership-accept"))
    assert link not in page.content.decode()
    assert count(Partnership) == 0


def test_the_accept_page_without_a_link_explains_what_to_do(client):
    response = client.get(reverse("partnership-accept"))
    assert response.status_code == 404
    assert "Open the link from the partnership request email again." in response.content.decode()


def test_resend_makes_a_new_link_and_the_old_one_stops_working(world, client_for):
    client = client_for(world.provider_admin)
    request, old_link, _ = start_request(client, world)
    response = client.post(url(world, "partners:request-resend", pk=request.pk))
    assert response.status_code == 200
    new_link = LINK.search(response.content.decode()).group(0)
    assert new_link != old_link
    anonymous = client_for(None)
    assert anonymous.get(path_of(old_link)).status_code == 404
    assert open_link(anonymous, new_link).status_code == 200


def test_revoked_expired_used_and_unknown_links_explain_which_without_provider_data(
    world, client_for
):
    client = client_for(world.provider_admin)
    anonymous = client_for(None)

    revoked, revoked_link, _ = start_request(client, world, email="a@example.test")
    client.post(url(world, "partners:request-revoke", pk=revoked.pk))
    expired, expired_link, _ = start_request(client, world, email="b@example.test")
    with unscoped("test setup"):
        PartnershipRequest.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    reseller = reseller_with_admin("c@example.test")
    used, used_link, _ = start_request(client, world, email="c@example.test")
    accept_partnership(
        request=used, reseller=reseller, actor=User.objects.get(email="c@example.test")
    )

    cases = [
        (revoked_link, 410, "withdrawn by the provider"),
        (expired_link, 410, "has expired"),
        (used_link, 410, "already been answered"),
        ("http://x/partnerships/" + "A" * 43 + "/", 404, "not valid"),
    ]
    for link, status, words in cases:
        response = anonymous.get(path_of(link))
        body = response.content.decode()
        assert response.status_code == status, link
        assert words in body
        assert world.provider.name not in body and world.provider.partner_id not in body
    listing = client.get(url(world, "partners:reseller-list")).content.decode()
    for state in ("Revoked", "Expired", "Accepted"):
        assert f">{state}</span>" in listing


# ------------------------------------------------------------------------------
# The link: sign up, log in, enroll, accept, decline
# ------------------------------------------------------------------------------
def test_a_stranger_sees_the_provider_and_the_message_and_is_offered_sign_up(world, client_for):
    _, link, _ = start_request(client_for(world.provider_admin), world)
    page = open_link(client_for(None), link).content.decode()
    assert world.provider.name in page and world.provider.partner_id in page
    assert "would like to partner with you" in page
    accept = reverse("partnership-accept")
    signup = f"{reverse('account_signup')}?next={accept}&email=owner%40newreseller.example"
    assert f'href="{html.escape(signup)}"' in page
    assert f'href="{reverse("account_login")}?next={accept}"' in page


def test_sign_up_through_the_link_asks_for_the_code_then_enroll_returns_and_accept_partners(
    world, client_for, client
):
    request, link, _ = start_request(client_for(world.provider_admin), world)
    open_link(client, link)
    accept = reverse("partnership-accept")
    emails_before = OutboundEmail.objects.count()
    response = sign_up(client, "owner@newreseller.example", accept)
    # The link proves nothing: allauth emails a code, like for any sign-up.
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not EmailAddress.objects.get(email="owner@newreseller.example").verified
    assert OutboundEmail.objects.count() == emails_before + 1
    response = enter_code(client, emailed_code("owner@newreseller.example"))
    assert response["Location"] == accept
    assert EmailAddress.objects.get(email="owner@newreseller.example").verified

    page = client.get(accept).content.decode()
    enroll = f"{reverse('enroll')}?next={accept}"
    assert "Enroll first" in page and enroll in html.unescape(page)
    response = client.post(
        enroll,
        {
            "name": "Newco IT",
            "partner_id": "5123999",
            "country": "NL",
            "contact_email": "owner@newreseller.example",
        },
    )
    assert response["Location"] == accept
    assert "You accept as Newco IT." in client.get(accept).content.decode()

    response = client.post(accept, {"decision": "accept"})
    newco = Organization.objects.get(partner_id="5123999")
    assert response["Location"] == reverse(
        "partners:provider-list", kwargs={"org_slug": newco.slug}
    )
    with unscoped("assert"):
        partnership = Partnership.objects.get()
        request.refresh_from_db()
        accepted = AuditEvent.objects.get(verb="partnership.accepted")
        assert (accepted.provider, accepted.reseller) == (world.provider, newco)
    assert (partnership.provider, partnership.reseller) == (world.provider, newco)
    assert partnership.is_active and partnership.request == request
    assert request.state == "accepted" and request.reseller == newco
    notice = OutboundEmail.objects.get(to=world.provider_admin.email)
    assert notice.subject == "Newco IT accepted your partnership request"
    providers_page = client.get(response["Location"]).content.decode()
    assert f"You are now an indirect reseller of {world.provider.name}." in providers_page
    resellers_page = client_for(world.provider_admin).get(url(world, "partners:reseller-list"))
    assert "Newco IT" in resellers_page.content.decode()
    # The link is spent: opening it again says so.
    assert "already been answered" in client.get(path_of(link)).content.decode()


def test_an_existing_reseller_admin_logs_in_through_the_link_and_accepts(world, client):
    reseller = reseller_with_admin("boss@newco.example")
    _request, link, _ = start_request(client_for_admin(world), world, email="boss@newco.example")
    open_link(client, link)
    accept = reverse("partnership-accept")
    response = client.post(
        f"{reverse('account_login')}?next={accept}",
        {"login": "boss@newco.example", "password": PASSWORD},
    )
    assert response["Location"] == accept
    client.post(accept, {"decision": "accept"})
    with unscoped("assert"):
        assert Partnership.objects.filter(provider=world.provider, reseller=reseller).exists()


def client_for_admin(world):
    from django.test import Client

    client = Client()
    client.force_login(world.provider_admin)
    return client


def test_the_wrong_account_is_told_which_address_was_invited_and_nothing_changes(world, client_for):
    request, link, _ = start_request(client_for(world.provider_admin), world)
    client = client_for(world.reseller_admin)
    page = html.unescape(open_link(client, link).content.decode())
    assert "This request was sent to owner@newreseller.example" in page
    response = client.post(reverse("partnership-accept"), {"decision": "accept"}, follow=True)
    assert "Log in with that address" in html.unescape(response.content.decode())
    assert count(Partnership) == 0
    with unscoped("assert"):
        assert PartnershipRequest.objects.get(pk=request.pk).state == "pending"


def test_a_sales_agent_of_a_reseller_cannot_accept(world, client_for):
    reseller = reseller_with_admin("boss@newco.example")
    agent = MembershipFactory(
        organization=reseller, role=Membership.Role.SALES_AGENT, user=UserFactory(email="x@n.test")
    ).user
    _, link, _ = start_request(client_for(world.provider_admin), world, email="x@n.test")
    client = client_for(agent)
    assert "Enroll first" in open_link(client, link).content.decode()
    client.post(reverse("partnership-accept"), {"decision": "accept"})
    assert count(Partnership) == 0


def test_decline_records_it_and_tells_the_providers_admins(world, client_for):
    reseller_with_admin("boss@newco.example")
    request, link, _ = start_request(
        client_for(world.provider_admin), world, email="boss@newco.example"
    )
    client = client_for(User.objects.get(email="boss@newco.example"))
    open_link(client, link)
    client.post(reverse("partnership-accept"), {"decision": "decline"})
    with unscoped("assert"):
        request.refresh_from_db()
    assert request.state == "declined" and request.responded_at is not None
    assert count(Partnership) == 0
    notice = OutboundEmail.objects.get(to=world.provider_admin.email)
    assert "was declined" in notice.subject


def test_accepting_twice_creates_one_partnership(world, client_for):
    reseller = reseller_with_admin("boss@newco.example")
    boss = User.objects.get(email="boss@newco.example")
    request, _link, _ = start_request(
        client_for(world.provider_admin), world, email="boss@newco.example"
    )
    first = accept_partnership(request=request, reseller=reseller, actor=boss)
    second = accept_partnership(request=request, reseller=reseller, actor=boss)
    assert first == second
    assert count(Partnership) == 1
    assert OutboundEmail.objects.filter(to=world.provider_admin.email).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_tabs_accepting_at_once_create_one_partnership(world):
    reseller = reseller_with_admin("boss@newco.example")
    boss = User.objects.get(email="boss@newco.example")
    with unscoped("test setup"):
        request, _ = request_partnership(
            provider=world.provider, actor=world.provider_admin, email="boss@newco.example"
        )
    barrier = threading.Barrier(2)
    results, errors = [], []

    def tab():
        try:
            barrier.wait(timeout=10)
            results.append(accept_partnership(request=request, reseller=reseller, actor=boss).pk)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert count(Partnership) == 1
