from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.sites.shortcuts import get_current_site
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.emails import queue_message
from portal.sign_in_domain import is_customer_sign_in_address

# What allauth puts in a mail's context that opens an account (allauth 65: sign-in,
# verification and password-reset codes, a verification link and key). The outbox keeps
# these sealed and stores the marker in their place (portal/emails.py).
SECRET_CONTEXT = {"activate_url": "{verification link}", "key": "{key}", "code": "{code}"}
# "password_reset_url" is a secret only in the reset mail, where it carries the key;
# "an account already exists" mails call the public Forgot password page by that name.
RESET_LINK = "{password reset link}"


class AccountAdapter(DefaultAccountAdapter):
    """allauth, wired to the portal: its emails go through the outbox and Celery."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next((c for c, mimetype in message.alternatives if mimetype == "text/html"), "")
        secrets = {
            marker: ctx[name]
            for name, marker in SECRET_CONTEXT.items()
            if isinstance(ctx.get(name), str) and ctx[name]
        }
        reset_url = ctx.get("password_reset_url")
        if isinstance(reset_url, str) and secrets.get("{key}", "\0") in reset_url:
            secrets[RESET_LINK] = reset_url
        queue_message(
            to=email,
            subject=message.subject,
            body_text=message.body,
            body_html=html,
            template=template_prefix,
            secrets=secrets,
        )

    # Nothing in the portal marks an address verified without allauth's emailed code.
    # Signing up through a partnership or team-invitation link used to (allauth's
    # "stash"), but whoever sent a link, or could regenerate it with Resend, could sign
    # up through it too (issue 14). All three stash methods are shut, so that no caller,
    # and no session stashed before this change, can bring the shortcut back.
    # What still writes verified=True without a code, and so without a MailboxProof
    # (what answering requests and invitations checks): demo data (seed_demo records a
    # "demo" proof), staff (the admin's checkbox, no proof; its "Mark as verified"
    # action records a "staff" proof), and the New customer wizard's admin@<domain>
    # accounts (being moved to a portal-controlled domain; they get no proof).
    def stash_verified_email(self, request, email: str) -> None:
        return None

    def unstash_verified_email(self, request) -> str | None:
        request.session.pop("account_verified_email", None)
        return None

    def is_email_verified(self, request, email: str) -> bool:
        return False

    def clean_email(self, email: str) -> str:
        # Sign-up, adding an address and password reset: addresses on the customers'
        # sign-in domain belong to the accounts the portal makes for customers. Nobody
        # signs up with one (or squats a customer's future login), and none gets mail.
        email = super().clean_email(email)
        if is_customer_sign_in_address(email):
            raise forms.ValidationError(
                _(
                    "Addresses on %(domain)s are customers' sign-in accounts made by the "
                    "portal. They receive no email, so they can't be used here. If you are a "
                    "customer's admin and forgot your password, contact your provider."
                )
                % {"domain": settings.CUSTOMER_SIGN_IN_DOMAIN},
                code="customer_sign_in_address",
            )
        return email

    def can_delete_email(self, email_address) -> bool:
        # A customer's sign-in address stays on its account: it is what keeps that account
        # from acting for a partner organization (portal/sign_in_domain.py).
        if is_customer_sign_in_address(email_address.email):
            return False
        return super().can_delete_email(email_address)

    def pre_login(self, request, user, **kwargs):
        # A one-time temporary password is only good for a short while.
        expires = getattr(user, "temporary_password_expires_at", None)
        if user.must_change_password and expires and expires <= timezone.now():
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            messages.error(
                request,
                _(
                    "Your temporary password has expired. Ask your provider to set up "
                    "your account again, or reset your password."
                ),
            )
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def set_password(self, user, password: str) -> None:
        # Choosing a password of one's own ends the temporary-password state.
        user.set_password(password)
        user.must_change_password = False
        user.temporary_password_expires_at = None
        user.save(
            update_fields=["password", "must_change_password", "temporary_password_expires_at"]
        )
