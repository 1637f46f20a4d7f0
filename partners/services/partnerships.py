"""Writes for partnerships: request by email, accept or decline through the link, end.

Like the organization and team services beside it: atomic, locked rows, an activity
entry (partners/audit.py), email on commit.
"""

import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partners.audit import record_event
from partners.models import Membership, Organization, Partnership, PartnershipRequest
from partners.services.accounts import (
    check_holds_mailbox,
    refuse_customer_sign_in_account,
    refuse_customer_sign_in_address,
)
from partners.services.notifications import notify_admins
from portal.emails import LINK_MARKER, Message, disarm_urls, queue_message, text_as_html
from portal.locking import lock_all, lock_one
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.tokens import new_token, token_digest

# Stored messages (the request's draft, the outbox row) hold LINK_MARKER where the link
# goes: the token itself is never stored.


def request_link(token: str) -> str:
    return settings.SITE_URL + reverse("partnership-link", kwargs={"token": token})


def _draft(provider: Organization, actor: User | None, contact_name: str):
    """The default subject and body, with LINK_MARKER where the link goes."""
    context = {
        "provider": provider,
        "sender": actor,
        "contact_name": contact_name,
        "link": LINK_MARKER,
        "max_age_days": settings.PARTNERSHIP_REQUEST_MAX_AGE_DAYS,
    }
    subject = render_to_string("emails/partnership_request/subject.txt", context)
    body = render_to_string("emails/partnership_request/body.txt", context)
    return " ".join(subject.split()), body.strip() + "\n"


def link_matches(request: PartnershipRequest, token: str) -> bool:
    """Whether `token` is this request's current link (constant-time comparison)."""
    return bool(token) and hmac.compare_digest(token_digest(token), request.token_digest)


def draft_message(request: PartnershipRequest, token: str) -> tuple[str, str]:
    """The request's subject and body with the real link in place, for the draft page."""
    return request.subject, request.body.replace(LINK_MARKER, request_link(token))


# ------------------------------------------------------------------------------
# What the reseller receives
# ------------------------------------------------------------------------------
# The provider writes the subject and the body; the portal sends them from its own
# address. So that this can't pass for the portal's own mail (phishing), the subject
# always starts with a fixed prefix naming the provider, the body is framed by text of
# the portal's saying who wrote it, only the portal's link is a link, and replies go to
# the provider.
def recipient_language(email: str) -> str | None:
    """The language the person with this address chose in the portal, if any."""
    known = User.objects.filter(email__iexact=email).values_list("language", flat=True)
    return next(iter(known), "") or None


def _prefix(provider: Organization) -> str:
    return _("Partnership request from %(provider)s: %(subject)s") % {
        "provider": provider.name,
        "subject": "",
    }


def reseller_subject(provider: Organization, subject: str) -> str:
    """The subject with the fixed prefix in the active language. A prefix the provider
    typed (in any of the portal's languages) is not repeated."""
    subject = " ".join(subject.split())
    prefixes = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            prefixes.add(" ".join(_prefix(provider).split()).casefold())
    stripped = True
    while stripped:
        stripped = False
        for prefix in prefixes:
            if prefix and subject.casefold().startswith(prefix):
                subject, stripped = subject[len(prefix) :].lstrip(), True
    return " ".join(
        (
            _("Partnership request from %(provider)s: %(subject)s")
            % {"provider": provider.name, "subject": subject}
        ).split()
    )


def reseller_message(
    *, provider: Organization, subject: str, body: str, link: str, language: str | None
) -> Message:
    """The email the reseller receives for the provider's `subject` and `body`, in
    `language` (None: the active one). `body` holds the real link, which stays the one
    clickable address; every other one is disarmed (portal/emails.py disarm_urls)."""
    text, disarmed = disarm_urls(body.strip(), keep=[link])
    context = {
        "provider": provider,
        "text": text,
        "text_html": text_as_html(text, [link]),
        "disarmed": disarmed,
        "link": link,
        "site_url": settings.SITE_URL,
    }
    with translation.override(language or translation.get_language()):
        return Message(
            reseller_subject(provider, subject),
            render_to_string("emails/partnership_request/message.txt", context).strip() + "\n",
            render_to_string("emails/partnership_request/message.html", context).strip(),
        )


def _active_partner_for(provider: Organization, email: str) -> Organization | None:
    """The reseller, already partnered with `provider`, that `email` works for."""
    partnership = (
        Partnership.objects.filter(
            provider=provider,
            ended_at=None,
            reseller__memberships__user__email__iexact=email,
        )
        .select_related("reseller")
        .first()
    )
    return partnership.reseller if partnership else None


@transaction.atomic
def request_partnership(
    *, provider: Organization, actor: User, email: str, contact_name: str = ""
) -> tuple[PartnershipRequest, str]:
    """Record a request and draft its email. Returns the request and the link's token.

    The token exists only here and in the link: show it once, store only its digest.
    """
    email = email.strip().lower()
    contact_name = contact_name.strip()
    refuse_customer_sign_in_address(
        email,
        _(
            "%(email)s is a customer's sign-in account made by the portal. It receives no "
            "email and can't answer partnership requests."
        ),
    )
    with unscoped("checking the address against the provider's partners"):
        partner = _active_partner_for(provider, email)
    if partner is not None:
        raise ValidationError(
            _(
                "%(email)s works for %(reseller)s (Partner ID %(partner_id)s), "
                "which is already your indirect reseller."
            )
            % {"email": email, "reseller": partner.name, "partner_id": partner.partner_id_display},
            code="already_partnered",
        )
    pending = lock_all(
        PartnershipRequest.objects.filter(
            provider=provider, email__iexact=email, state=PartnershipRequest.State.PENDING
        )
    )
    for earlier in pending:
        if earlier.is_open:
            raise ValidationError(
                _(
                    "A partnership request to %(email)s is already pending. "
                    "To send a new link, use Resend on that request."
                )
                % {"email": email},
                code="already_requested",
            )
        earlier.state = PartnershipRequest.State.EXPIRED
        earlier.save(update_fields=["state", "updated_at"])
    token, digest = new_token()
    subject, body = _draft(provider, actor, contact_name)
    request = PartnershipRequest.objects.create(
        provider=provider,
        email=email,
        contact_name=contact_name,
        subject=subject,
        body=body,
        token_digest=digest,
        requested_by=actor,
        expires_at=PartnershipRequest.default_expiry(),
    )
    record_event(
        org=provider, actor=actor, verb="partnership.requested", target=email, provider=provider
    )
    return request, token


def _lock(request: PartnershipRequest) -> PartnershipRequest:
    with unscoped("locking a partnership request by id"):
        return lock_one(PartnershipRequest.objects.select_related("provider"), pk=request.pk)


@transaction.atomic
def send_partnership_request(
    *,
    provider: Organization,
    actor: User,
    request: PartnershipRequest,
    token: str,
    subject: str,
    body: str,
) -> tuple[OutboundEmail, bool]:
    """Have the portal email the (edited) draft. Returns the email and whether it is new.

    Pressing Send twice on the same text queues one email: the second press finds the
    first still queued or sent and returns it.
    """
    request = _lock(request)
    if request.provider_id != provider.pk or not request.is_open:
        raise ValidationError(_("This request is no longer pending."), code="not_open")
    if not link_matches(request, token):
        raise ValidationError(
            _("This draft's link was replaced by a newer one (Resend). Use the newest draft."),
            code="stale_link",
        )
    subject = " ".join(subject.split())
    body = body.replace("\r\n", "\n").strip() + "\n"
    if request_link(token) not in body:
        raise ValidationError(
            _(
                "Keep the link in the message: it is personalized for your account "
                "and the reseller needs it to accept."
            ),
            code="link_missing",
        )
    link = request_link(token)
    stored_body = body.replace(link, LINK_MARKER)
    previous = request.outbound_email
    if (
        previous is not None
        and previous.status != OutboundEmail.Status.FAILED
        and (request.subject, request.body) == (subject, stored_body)
    ):
        return previous, False
    message = reseller_message(
        provider=request.provider,
        subject=subject,
        body=body,
        link=link,
        language=recipient_language(request.email),
    )
    email = queue_message(
        to=request.email,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        template="partnership_request",
        secrets={LINK_MARKER: link},
        reply_to=request.provider.contact_email,
    )
    request.subject, request.body, request.outbound_email = subject, stored_body, email
    request.save(update_fields=["subject", "body", "outbound_email", "updated_at"])
    record_event(
        org=provider,
        actor=actor,
        verb="partnership.request_sent",
        target=request.email,
        provider=provider,
    )
    return email, True


@transaction.atomic
def resend_partnership_request(
    *, provider: Organization, actor: User, request: PartnershipRequest
) -> str:
    """A new link (the old one stops working), a new expiry and a fresh draft."""
    request = _lock(request)
    if request.provider_id != provider.pk or request.state != PartnershipRequest.State.PENDING:
        raise ValidationError(_("Only pending requests can be resent."), code="not_open")
    token, request.token_digest = new_token()
    request.subject, request.body = _draft(provider, actor, request.contact_name)
    request.expires_at = PartnershipRequest.default_expiry()
    request.outbound_email = None
    request.save(
        update_fields=[
            "token_digest",
            "subject",
            "body",
            "expires_at",
            "outbound_email",
            "updated_at",
        ]
    )
    record_event(
        org=provider,
        actor=actor,
        verb="partnership.request_resent",
        target=request.email,
        provider=provider,
    )
    return token


@transaction.atomic
def revoke_partnership_request(
    *, provider: Organization, actor: User, request: PartnershipRequest
) -> None:
    request = _lock(request)
    if request.provider_id != provider.pk or request.state != PartnershipRequest.State.PENDING:
        raise ValidationError(_("Only pending requests can be revoked."), code="not_open")
    request.state = PartnershipRequest.State.REVOKED
    request.save(update_fields=["state", "updated_at"])
    record_event(
        org=provider,
        actor=actor,
        verb="partnership.request_revoked",
        target=request.email,
        provider=provider,
    )


def request_problem(request: PartnershipRequest | None) -> str | None:
    """Why a link can't be used, in words a stranger may read (no provider data)."""
    if request is None:
        return _("This partnership link is not valid. Check that you copied the whole link.")
    state = request.display_state
    if state in (PartnershipRequest.State.ACCEPTED, PartnershipRequest.State.DECLINED):
        return _("This partnership request has already been answered.")
    if state == PartnershipRequest.State.REVOKED:
        return _("This partnership request was withdrawn by the provider.")
    if state == PartnershipRequest.State.EXPIRED:
        return _("This partnership request has expired. Ask the provider to send a new one.")
    return None


def _refuse_customer_account(actor: User) -> None:
    refuse_customer_sign_in_account(
        actor,
        _(
            "%(email)s is a customer's sign-in account. It can't answer partnership "
            "requests: sign in with your own email address."
        ),
    )


def _check_responder(request: PartnershipRequest, actor: User) -> None:
    # Only a code the portal emailed to the request's address proves the actor holds it:
    # the provider and its staff can open (and regenerate) the link themselves.
    check_holds_mailbox(
        user=actor,
        email=request.email,
        wrong_user=_(
            "This request was sent to %(email)s. Log in with that address "
            "(or add and verify it on your account) to answer it."
        )
        % {"email": request.email},
        unproven=_(
            "%(email)s was never confirmed with a code the portal emailed to it, so this "
            "account cannot answer requests sent to it."
        )
        % {"email": request.email},
    )


@transaction.atomic
def accept_partnership(
    *, request: PartnershipRequest, reseller: Organization, actor: User
) -> Partnership:
    """Create the partnership and close the request, in one transaction.

    Idempotent: accepting again (a second tab, a double click) returns the same partnership.
    """
    request = _lock(request)
    with unscoped("accepting spans the provider and the reseller"):
        if (
            request.state == PartnershipRequest.State.ACCEPTED
            and request.reseller_id == reseller.pk
        ):
            existing = Partnership.objects.filter(
                provider=request.provider, reseller=reseller, ended_at=None
            ).first()
            if existing is not None:
                return existing
        problem = request_problem(request)
        if problem:
            raise ValidationError(problem, code="not_open")
        _refuse_customer_account(actor)
        _check_responder(request, actor)
        is_admin = Membership.objects.filter(
            user=actor,
            organization=reseller,
            organization__kind=Organization.Kind.RESELLER,
            role=Membership.Role.ADMIN,
        ).exists()
        if not is_admin:
            raise ValidationError(
                _("Only an Admin of an enrolled indirect reseller can accept."),
                code="not_reseller_admin",
            )
        partnership = Partnership.objects.filter(
            provider=request.provider, reseller=reseller, ended_at=None
        ).first()
        if partnership is None:
            try:
                with transaction.atomic():
                    partnership = Partnership.objects.create(
                        provider=request.provider, reseller=reseller, request=request
                    )
            except IntegrityError:
                # Another transaction created it between our check and insert.
                partnership = Partnership.objects.get(
                    provider=request.provider, reseller=reseller, ended_at=None
                )
        request.state = PartnershipRequest.State.ACCEPTED
        request.responded_at = timezone.now()
        request.responded_by = actor
        request.reseller = reseller
        request.save(
            update_fields=["state", "responded_at", "responded_by", "reseller", "updated_at"]
        )
        record_event(
            org=reseller,
            actor=actor,
            verb="partnership.accepted",
            target=partnership,
            provider=request.provider,
            reseller=reseller,
        )
        notify_admins(
            org=request.provider,
            kind=User.Notification.PARTNERSHIPS,
            template="partnership_accepted",
            context={"provider": request.provider, "reseller": reseller, "actor": actor},
        )
    return partnership


@transaction.atomic
def decline_partnership(
    *, request: PartnershipRequest, actor: User, reseller: Organization | None = None
) -> None:
    request = _lock(request)
    problem = request_problem(request)
    if problem:
        raise ValidationError(problem, code="not_open")
    _refuse_customer_account(actor)
    _check_responder(request, actor)
    request.state = PartnershipRequest.State.DECLINED
    request.responded_at = timezone.now()
    request.responded_by = actor
    request.reseller = reseller
    request.save(update_fields=["state", "responded_at", "responded_by", "reseller", "updated_at"])
    with unscoped("notifying the provider"):
        record_event(
            org=reseller or request.provider,
            actor=actor,
            verb="partnership.declined",
            target=reseller or request.email,
            provider=request.provider,
            reseller=reseller,
            email=request.email,
        )
        notify_admins(
            org=request.provider,
            kind=User.Notification.PARTNERSHIPS,
            template="partnership_declined",
            context={"provider": request.provider, "reseller": reseller, "email": request.email},
        )


@transaction.atomic
def end_partnership(*, org: Organization, actor: User, partnership: Partnership) -> Partnership:
    """Either side ends it. The row stays; a new request can start a new partnership.

    Only the partnership itself: what hangs off it in the apps above (delegated customers,
    support contacts) ends in `subscriptions.services.lifecycle.end_partnership`, which calls this
    first, in its transaction. Views and the admin call that one; it also emails the other
    side, since only it knows how many customers and subscriptions the end took with it.
    """
    with unscoped("ending affects both organizations"):
        partnership = lock_one(
            Partnership.objects.select_related("provider", "reseller"), pk=partnership.pk
        )
        if org.pk not in (partnership.provider_id, partnership.reseller_id):
            raise ValidationError(_("This partnership is not yours."), code="not_yours")
        if not partnership.is_active:
            raise ValidationError(_("This partnership has already ended."), code="ended")
        partnership.ended_at = timezone.now()
        partnership.ended_by = actor
        partnership.save(update_fields=["ended_at", "ended_by", "updated_at"])
        record_event(
            org=org,
            actor=actor,
            verb="partnership.ended",
            target=partnership,
            provider=partnership.provider,
            reseller=partnership.reseller,
        )
    return partnership
