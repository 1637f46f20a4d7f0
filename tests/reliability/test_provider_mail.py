# The Simplified Chinese expectations use full-width punctuation, as the translation does.
# ruff: noqa: RUF001
"""Issue 14, finding 5: provider-written mail leaves under the portal's name.

The provider writes a partnership request's subject and body; the portal sends them from
its own address. Each test sends through the real views, the real Celery worker and the
real SMTP server, and reads what the reseller's mailbox receives.
"""

import html
import re
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from django.urls import reverse

from partners.models import PartnershipRequest
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.factories import UserFactory, draft_fields, wait_for
from tests.reliability._tokens import PARTNERSHIP_LINK

PHISHING = (
    "Before you accept, confirm your account at https://portal-login.evil.example/signin?next=1.\n"
    "Or visit www.evil.example or evil.example/login (it's quick).\n"
    '<a href="https://evil.example/">Click here</a> <script>alert(1)</script>\n'
    "Questions? Write to sales@contoso.example."
)


def draft(client, world, email: str) -> tuple[str, dict, str]:
    """Request a partnership through the UI: (Send URL, the draft's fields, the page)."""
    page = client.post(
        reverse("partners:request-create", kwargs={"org_slug": world.provider.slug}),
        {"email": email, "contact_name": ""},
    )
    assert page.status_code == 200
    text = page.content.decode()
    with unscoped("test"):
        pk = PartnershipRequest.objects.get(email=email, state="pending").pk
    url = reverse("partners:request-send", kwargs={"org_slug": world.provider.slug, "pk": pk})
    return url, draft_fields(text), text


def send(client, world, email: str, *, subject: str | None = None, extra: str = ""):
    """Send the draft (optionally edited) and return what the SMTP server received."""
    url, fields, _page = draft(client, world, email)
    if subject is not None:
        fields["subject"] = subject
    fields["body"] += extra
    assert client.post(url, fields).status_code == 302
    link = PARTNERSHIP_LINK.search(fields["body"]).group(0)
    return link, fields


def received(sink, to: str):
    def find():
        found = [t for t in sink.messages if t.rcpt_tos == (to,)]
        return found[-1] if found else None

    return wait_for(find).message


def parts(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


@pytest.mark.worker
def test_the_subject_starts_with_a_fixed_prefix_naming_the_provider_never_twice(
    celery_worker, smtp_settings, world, client_for
):
    admin = client_for(world.provider_admin)
    send(admin, world, "a@x.example", subject="Let's partner")
    send(admin, world, "b@x.example", subject="Partnership request from Contoso Test: Hi")
    send(admin, world, "c@x.example", subject="partnership REQUEST from contoso test:   Hi")
    send(admin, world, "d@x.example")  # the draft's own subject
    UserFactory(email="e@x.example", language="zh-hans")
    send(admin, world, "e@x.example", subject="Partnership request from Contoso Test: Hi")

    subjects = {to: received(smtp_settings, f"{to}@x.example")["Subject"] for to in "abcde"}
    assert subjects == {
        "a": "Partnership request from Contoso Test: Let's partner",
        "b": "Partnership request from Contoso Test: Hi",
        "c": "Partnership request from Contoso Test: Hi",
        "d": "Partnership request from Contoso Test: "
        "Contoso Test invites you to partner as an indirect reseller",
        # A reseller who chose Chinese gets the Chinese prefix; the English one the
        # provider typed is not repeated.
        "e": "来自 Contoso Test 的合作关系请求：Hi",
    }
    # The provider's own text is kept as written, for its draft and Resend.
    with unscoped("test"):
        assert PartnershipRequest.objects.get(email="a@x.example").subject == "Let's partner"


@pytest.mark.worker
def test_the_body_is_framed_by_the_portal_saying_who_wrote_it(
    celery_worker, smtp_settings, world, client_for
):
    admin = client_for(world.provider_admin)
    link, _ = send(admin, world, "owner@x.example", extra="\nKind regards, Sam")
    text, body_html = parts(received(smtp_settings, "owner@x.example"))
    provider = world.provider
    intro = (
        f"{provider.name} (Partner ID {provider.partner_id}) wrote the message below and "
        "sent it through Partner Portal. Partner Portal did not write it"
    )
    start = f"----- Message from {provider.name} -----"
    end = "----- End of the message -----"
    assert text.index(intro) < text.index(start) < text.index("Kind regards, Sam")
    assert text.index("Kind regards, Sam") < text.index(end)
    # After the provider's text, in the portal's words: the link, and what it looks like.
    tail = text[text.index(end) :]
    assert "To answer the request, open your personalized link:" in tail
    assert link in tail and "Partner Portal's links always start with http://" in tail
    page = html.unescape(body_html)
    assert intro in page and f"Message from {provider.name}" in page


@pytest.mark.worker
def test_only_the_portals_link_is_clickable_and_provider_html_is_text(
    celery_worker, smtp_settings, world, client_for
):
    admin = client_for(world.provider_admin)
    link, _ = send(admin, world, "owner@x.example", extra="\n" + PHISHING)
    text, body_html = parts(received(smtp_settings, "owner@x.example"))

    # HTML: the only anchors are the portal's link (in the message and below it).
    assert re.findall(r"<a\b[^>]*>", body_html) == [f'<a href="{link}">'] * 2
    assert "<script>" not in body_html
    assert "&lt;a href=&quot;hxxps://evil[.]example/&quot;&gt;Click here&lt;/a&gt;" in body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body_html
    # Both parts: every foreign address disarmed, so no mail client links it.
    for part in (text, html.unescape(body_html)):
        assert "hxxps://portal-login[.]evil[.]example/signin?next=1." in part
        assert "www[.]evil[.]example" in part
        assert "evil[.]example/login (it's quick)" in part
        assert "evil.example" not in part
        assert "sales@contoso.example" in part  # an address only starts a reply
        assert link in part
    assert "Web addresses in the message are shown as text, not as links" in text


@pytest.mark.worker
def test_replies_go_to_the_providers_contact_address(
    celery_worker, smtp_settings, world, client_for
):
    admin = client_for(world.provider_admin)
    send(admin, world, "owner@x.example")
    message = received(smtp_settings, "owner@x.example")
    assert message["Reply-To"] == world.provider.contact_email
    assert message["From"] == "Partner Portal <noreply@portal.example>"
    assert OutboundEmail.objects.get(to="owner@x.example").reply_to == (
        world.provider.contact_email
    )


@pytest.mark.worker
def test_a_reseller_who_chose_chinese_gets_it_in_chinese(
    celery_worker, smtp_settings, world, client_for
):
    UserFactory(email="owner@x.example", language="zh-hans")
    admin = client_for(world.provider_admin)
    link, _ = send(admin, world, "owner@x.example", subject="Let's partner")
    message = received(smtp_settings, "owner@x.example")
    text, body_html = parts(message)
    provider = world.provider
    assert message["Subject"] == "来自 Contoso Test 的合作关系请求：Let's partner"
    framing = (
        f"以下邮件由 {provider.name}（合作伙伴 ID {provider.partner_id}）撰写，"
        "并通过合作伙伴门户发送。合作伙伴门户未撰写该邮件，也未核实其内容。"
    )
    assert framing in text and framing in html.unescape(body_html)
    assert f"----- 来自 {provider.name} 的邮件 -----" in text
    assert "如需回复此请求，请打开你的个性化链接：" in text and link in text


def _mailto(page: str) -> dict:
    href = html.unescape(re.search(r'id="open-in-email" href="([^"]+)"', page).group(1))
    return {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}


def test_the_draft_page_shows_what_the_reseller_receives(world, client_for):
    """The prefix and the framing, in the reseller's language; Open in email keeps the
    provider's own subject and text (their own mail client sends it, from their address)."""
    admin = client_for(world.provider_admin)
    _url, fields, page = draft(admin, world, "owner@x.example")
    text = html.unescape(page)
    assert "What the reseller receives when you select Send" in text
    assert "Partnership request from Contoso Test: [your subject]" in text
    partner_id = world.provider.partner_id
    assert f"Contoso Test (Partner ID {partner_id}) wrote the message below" in text
    assert world.provider.contact_email in text
    mailto = _mailto(page)
    assert mailto["subject"] == fields["subject"]
    assert unquote(mailto["body"]).replace("\r\n", "\n") == fields["body"]
    assert "Partnership request from" not in mailto["subject"]

    UserFactory(email="zh@x.example", language="zh-hans")
    _url, _fields, page = draft(admin, world, "zh@x.example")
    assert "来自 Contoso Test 的合作关系请求：[your subject]" in html.unescape(page)


def test_the_draft_page_in_chinese(world, client_for):
    world.provider_admin.language = "zh-hans"
    world.provider_admin.save(update_fields=["language"])
    admin = client_for(world.provider_admin)
    _url, _fields, page = draft(admin, world, "owner@x.example")
    text = html.unescape(page)
    assert "选择“发送”后经销商收到的内容" in text
    assert "来自 Contoso Test 的合作关系请求：[你的主题]" in text
