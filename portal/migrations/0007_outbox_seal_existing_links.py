"""Rows written before the outbox sealed its links hold them in clear: fix them.

Links of partnership requests, team invitations and password resets are found by their
path. In a row already SENT or FAILED each is replaced by its marker; in a row still
waiting, it is moved into the sealed parts the worker puts back at send time. (Codes
from sign-in and verification mails expire within minutes and are left as they are.)
"""

import json
import re

from django.db import migrations

LINK = re.compile(
    r"https?://[^\s<>\"']+?/(?:partnerships|team-invitations)/[A-Za-z0-9_-]+/"
    r"|https?://[^\s<>\"']+?/accounts/password/reset/key/[0-9A-Za-z]+-[^\s<>\"'/]+/"
)
DONE = ("sent", "failed")


def marker_for(link: str) -> str:
    return "{password reset link}" if "/password/reset/key/" in link else "{personalized link}"


def seal_links(apps, schema_editor):
    from portal.sealing import OUTBOX, seal

    OutboundEmail = apps.get_model("portal", "OutboundEmail")
    rows = OutboundEmail.objects.filter(body_text__regex=r"/(partnerships|team-invitations|accounts/password/reset/key)/")
    for email in rows.iterator():
        parts = [email.subject, email.body_text, email.body_html]
        links = sorted({m for part in parts for m in LINK.findall(part)}, key=len, reverse=True)
        if not links:
            continue
        secrets = {}
        for n, link in enumerate(links):
            marker = marker_for(link)
            if marker in secrets and secrets[marker] != link:
                marker = f"{marker[:-1]} {n + 1}}}"
            secrets[marker] = link
            parts = [part.replace(link, marker) for part in parts]
        email.subject, email.body_text, email.body_html = parts
        email.sealed_secrets = "" if email.status in DONE else seal(json.dumps(secrets), purpose=OUTBOX)
        email.save(update_fields=["subject", "body_text", "body_html", "sealed_secrets"])


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_outbox_sealed_secrets_and_reply_to")]

    operations = [migrations.RunPython(seal_links, migrations.RunPython.noop, elidable=True)]
