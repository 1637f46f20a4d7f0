"""Keep link tokens out of every log the portal writes.

Partnership and team-invitation links, and password-reset links, carry their secret in
the path. Whoever reads an access log (or a 404 warning) could otherwise answer someone
else's invitation. One pattern redacts those path segments; it is applied by Django's
LOGGING (runserver's `django.server` request lines, `django.request` warnings, anything
else, on every handler) and by gunicorn's access and error logs (gunicorn.conf.py).
tests/reliability/test_secrets.py checks that every route taking a token or key is
covered, so a new one can't be forgotten here.
"""

import logging
import re

REDACTED = "[redacted]"

# The segment after the route's prefix, up to the next "/", "?", "#", space or quote.
# "accept" (the token-less answer page) and allauth's "done" page are names, not secrets.
_END = r"(?=[/?#\s\"']|$)"
SECRET_PATH = re.compile(
    rf"(/(?:partnerships|team-invitations)/)(?!accept{_END})[^/?#\s\"']+"
    rf"|(/accounts/password/reset/key/)(?!done{_END})[^/?#\s\"']+"
)


def redact(text: str) -> str:
    """`text` with the secret segment of every token path replaced by [redacted]."""
    return SECRET_PATH.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrite a record's message (and traceback) with token paths redacted.

    The message is formatted here, once, so handlers and formatters downstream (Django's
    ServerFormatter, gunicorn's access format) only ever see the redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
