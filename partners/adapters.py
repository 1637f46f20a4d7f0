from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

from portal.emails import queue_message


class AccountAdapter(DefaultAccountAdapter):
    """allauth, wired to the portal: its emails go through the outbox and Celery."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next((c for c, mimetype in message.alternatives if mimetype == "text/html"), "")
        queue_message(
            to=email,
            subject=message.subject,
            body_text=message.body,
            body_html=html,
            template=template_prefix,
        )

    def unstash_verified_email(self, request) -> str | None:
        # An invitation link stashes its address as verified. If the person signs up
        # with a different address, that one must be verified the usual way instead
        # of silently becoming the account's primary address.
        stashed = super().unstash_verified_email(request)
        typed = request.POST.get("email", "").strip() if request.method == "POST" else ""
        if stashed and typed and stashed.lower() != typed.lower():
            return None
        return stashed
