"""Render an email and put it in the outbox, to be delivered by a Celery worker after commit.

Links and codes that open something (an invitation, a password reset, a sign-in) are
the message's secrets. The row never holds them in clear: its subject and bodies carry a
marker in their place (`{personalized link}`), the values are kept sealed beside them
(portal/sealing.py) while the row waits to be sent, and the worker puts them back into
the message it hands to SMTP. Once the row is SENT or FAILED the sealed values are wiped,
so only the marker remains for support and the admin to read.
"""

import json
from collections.abc import Mapping
from functools import partial
from typing import NamedTuple

from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from portal.models import OutboundEmail
from portal.sealing import OUTBOX, seal, unseal

# Where a personalized link stood. Markers are plain text with no HTML special character,
# so they read the same in both bodies and inside an href.
LINK_MARKER = "{personalized link}"


class Message(NamedTuple):
    subject: str
    text: str
    html: str


def send_email(
    *,
    template: str,
    to: str,
    context: dict,
    language: str | None = None,
    secrets: Mapping[str, str] | None = None,
    reply_to: str = "",
) -> OutboundEmail:
    """Render `templates/emails/<template>/{subject.txt,body.txt,body.html}` and queue it.

    `secrets` maps a marker to the value the context puts in the message (a link, a code):
    see queue_message. Call it inside the transaction that makes the email true: if that
    transaction rolls back, the row and the delivery go with it.
    """
    with translation.override(language or translation.get_language()):
        subject = render_to_string(f"emails/{template}/subject.txt", context)
        body_text = render_to_string(f"emails/{template}/body.txt", context)
        try:
            body_html = render_to_string(f"emails/{template}/body.html", context)
        except TemplateDoesNotExist:
            body_html = ""
    return queue_message(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        template=template,
        secrets=secrets,
        reply_to=reply_to,
    )


def conceal(message: Message, secrets: Mapping[str, str]) -> tuple[Message, dict[str, str]]:
    """The message with each secret value replaced by its marker, and the secrets it held.

    Longer values go first, so a link is replaced whole before a key inside it could be.
    In the HTML part a value may stand escaped (`&amp;`); both spellings are replaced.
    """
    subject, text, html = message
    used: dict[str, str] = {}
    for marker, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        if not value:
            continue
        escaped = str(escape(value))
        found = any(value in part for part in (subject, text, html)) or escaped in html
        subject = subject.replace(value, marker)
        text = text.replace(value, marker)
        html = html.replace(value, marker).replace(escaped, marker)
        if found:
            used[marker] = value
    return Message(subject, text, html), used


def reveal(message: Message, secrets: Mapping[str, str]) -> Message:
    """The inverse of conceal: each marker replaced by its value (escaped in the HTML)."""
    subject, text, html = message
    for marker, value in secrets.items():
        subject = subject.replace(marker, value)
        text = text.replace(marker, value)
        html = html.replace(marker, str(escape(value)))
    return Message(subject, text, html)


def personalized(email: OutboundEmail) -> Message:
    """The message as the worker sends it: the row's text with its sealed secrets put back.

    Raises portal.sealing.SealError when they can't be opened (SECRET_KEY changed with no
    fallback). A row already SENT or FAILED has none left: its markers stay.
    """
    stored = Message(email.subject, email.body_text, email.body_html)
    if not email.sealed_secrets:
        return stored
    return reveal(stored, json.loads(unseal(email.sealed_secrets, purpose=OUTBOX)))


def queue_message(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    template: str = "",
    secrets: Mapping[str, str] | None = None,
    reply_to: str = "",
) -> OutboundEmail:
    """Insert an already rendered message in the outbox and publish it on commit.

    `secrets` ({marker: value}): every occurrence of each value is stored as its marker,
    and the values found are sealed on the row until it is sent.
    """
    from portal.tasks import deliver_email

    rendered = Message(" ".join(subject.split()), body_text.strip() + "\n", body_html.strip())
    stored, used = conceal(rendered, secrets or {})
    email = OutboundEmail.objects.create(
        to=to,
        subject=stored.subject[:998],
        body_text=stored.text,
        body_html=stored.html,
        template=template,
        reply_to=reply_to,
        sealed_secrets=seal(json.dumps(used), purpose=OUTBOX) if used else "",
    )
    # robust: a broker outage after commit is logged, not raised into the request;
    # the row stays QUEUED and requeue_stuck_emails publishes it again.
    transaction.on_commit(partial(deliver_email.delay, email.pk), robust=True)
    return email
