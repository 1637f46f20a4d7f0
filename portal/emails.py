"""Render an email and put it in the outbox, to be delivered by a Celery worker after commit.

Links and codes that open something (an invitation, a password reset, a sign-in) are
the message's secrets. The row never holds them in clear: its subject and bodies carry a
marker in their place (`{personalized link}`), the values are kept sealed beside them
(portal/sealing.py) while the row waits to be sent, and the worker puts them back into
the message it hands to SMTP. Once the row is SENT or FAILED the sealed values are wiped,
so only the marker remains for support and the admin to read.
"""

import json
import re
from collections.abc import Iterable, Mapping
from functools import partial
from typing import NamedTuple

from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe

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


# ------------------------------------------------------------------------------
# Text written by someone else (a provider's partnership request)
# ------------------------------------------------------------------------------
# What mail clients turn into links by themselves, in text/plain and in the text of an
# HTML part alike (Gmail, Outlook, Apple Mail): anything with a scheme, and bare host
# names ending in a top-level domain (www.example.com, example.com/login). An email
# address is left alone: a mailto: link only starts a reply.
_URL = re.compile(
    r"""(?ix)
    (?<![\w@.-])
    (?:
        [a-z][a-z0-9+.-]*://[^\s<>"']+
      | (?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}(?::\d+)?(?:[/?#][^\s<>"']*)?
    )
    """
)
_TRAILING = ".,;:!?'\")]}"


def _split_trailing(url: str) -> tuple[str, str]:
    """Punctuation that ends the sentence, not the URL ("see https://x.example/.")."""
    end = len(url)
    while end and url[end - 1] in _TRAILING:
        if url[end - 1] == ")" and url[: end - 1].count("(") >= url[: end - 1].count(")") + 1:
            break  # a balanced parenthesis belongs to the URL (Wikipedia-style)
        end -= 1
    return url[:end], url[end:]


def _disarm(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = re.search(r"[/?#]", rest)
    host, tail = (rest[: cut.start()], rest[cut.start() :]) if cut else (rest, "")
    if scheme.lower() in ("http", "https"):
        scheme = "hxxp" + scheme[4:].lower()
    return f"{scheme}{sep}{host.replace('.', '[.]')}{tail}"


def disarm_urls(text: str, keep: Iterable[str] = ()) -> tuple[str, int]:
    """`text` with every web address except those in `keep` written so that no mail
    client makes it a link: hxxps://example[.]com/login, the security-advisory
    convention. Returns the text and how many were disarmed."""
    keep = set(keep)
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        url, trailing = _split_trailing(match.group(0))
        if url in keep or not url:
            return match.group(0)
        count += 1
        return _disarm(url) + trailing

    return _URL.sub(replace, text), count


def text_as_html(text: str, links: Iterable[str] = ()) -> SafeString:
    """Plain text as HTML paragraphs, every character escaped; only `links` are links."""
    links = sorted(set(filter(None, links)), key=len, reverse=True)
    pieces = re.split("(" + "|".join(map(re.escape, links)) + ")", text) if links else [text]
    out = "".join(
        format_html('<a href="{0}">{0}</a>', piece) if piece in links else escape(piece)
        for piece in pieces
    )
    return mark_safe(linebreaks(out))  # noqa: S308 (every piece above is escaped)
