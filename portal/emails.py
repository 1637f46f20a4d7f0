"""Render an email and put it in the outbox, to be delivered by a Celery worker after commit."""

from functools import partial

from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from portal.models import OutboundEmail


def send_email(
    *, template: str, to: str, context: dict, language: str | None = None
) -> OutboundEmail:
    """Render `templates/emails/<template>/{subject.txt,body.txt,body.html}` and queue it.

    Call it inside the transaction that makes the email true: if that transaction rolls
    back, the row and the delivery go with it.
    """
    with translation.override(language or translation.get_language()):
        subject = render_to_string(f"emails/{template}/subject.txt", context)
        body_text = render_to_string(f"emails/{template}/body.txt", context)
        try:
            body_html = render_to_string(f"emails/{template}/body.html", context)
        except TemplateDoesNotExist:
            body_html = ""
    return queue_message(
        to=to, subject=subject, body_text=body_text, body_html=body_html, template=template
    )


def queue_message(
    *, to: str, subject: str, body_text: str, body_html: str = "", template: str = ""
) -> OutboundEmail:
    """Insert an already rendered message in the outbox and publish it on commit."""
    from portal.tasks import deliver_email

    email = OutboundEmail.objects.create(
        to=to,
        subject=" ".join(subject.split())[:998],
        body_text=body_text.strip() + "\n",
        body_html=body_html.strip(),
        template=template,
    )
    # robust: a broker outage after commit is logged, not raised into the request;
    # the row stays QUEUED and requeue_stuck_emails publishes it again.
    transaction.on_commit(partial(deliver_email.delay, email.pk), robust=True)
    return email
