"""Customers sign in on the portal's own domain (security review, issue 14, finding 2).

Until now a customer's admin account was admin@<the customer's domain>, verified without
anyone proving they hold that mailbox. Every customer gets a unique sign-in prefix (the
first label of its domain, made unique with -2, -3, ...) and its admin account's login,
User.email and allauth's EmailAddress, moves to admin@<prefix>.<CUSTOMER_SIGN_IN_DOMAIN>.
The customer's own domain becomes unique per provider only.

Written with executemany in batches, not one save() per row: the load-test database holds
a million customers.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import migrations, models
from django.db.models import Q

BATCH = 5000
PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
MAX_LABEL = 63


def _unique_prefix(domain: str, taken: set[str]) -> str:
    base = domain.split(".", 1)[0][:MAX_LABEL].strip("-") or "customer"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        tail = f"-{n}"
        candidate = base[: MAX_LABEL - len(tail)].rstrip("-") + tail
    taken.add(candidate)
    return candidate


def _taken_prefixes(User, EmailAddress, suffix: str) -> set[str]:
    """Names under the sign-in domain some account already holds (a sign-up made with such
    an address before this release): no customer may take them over."""
    taken = set()
    for model in (User, EmailAddress):
        emails = model.objects.filter(email__iendswith=suffix).values_list("email", flat=True)
        for email in emails.iterator():
            taken.add(email.lower().rsplit("@", 1)[-1].removesuffix(suffix))
    return taken


def move_admin_logins(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    User = apps.get_model("portal", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    suffix = f".{settings.CUSTOMER_SIGN_IN_DOMAIN}"
    taken = _taken_prefixes(User, EmailAddress, suffix)
    connection = schema_editor.connection
    q = connection.ops.quote_name
    customers = Customer.objects.order_by("pk").values_list("pk", "domain", "admin_user_id")
    batch = []

    def flush():
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {q(Customer._meta.db_table)} SET {q('sign_in_prefix')} = %s "  # noqa: S608
                f"WHERE {q('id')} = %s",
                [(prefix, pk) for pk, _domain, prefix, _user in batch],
            )
        admins = {user: (domain, prefix) for _pk, domain, prefix, user in batch if user}
        if not admins:
            return
        addresses = EmailAddress.objects.filter(user_id__in=admins)
        moved, missing = [], set(admins)
        for pk, user, email in addresses.values_list("pk", "user_id", "email"):
            domain, prefix = admins[user]
            # The wizard's unproven admin@<domain> becomes the sign-in address. Addresses
            # the person added and verified with a code stay, as secondary ones.
            if email.lower() == f"admin@{domain}" and user in missing:
                missing.discard(user)
                moved.append((f"admin@{prefix}{suffix}", pk))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {q(User._meta.db_table)} SET {q('email')} = %s WHERE {q('id')} = %s",  # noqa: S608
                [(f"admin@{prefix}{suffix}", user) for user, (_d, prefix) in admins.items()],
            )
        # One primary per account (a constraint): the sign-in address becomes it.
        addresses.update(primary=False)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {q(EmailAddress._meta.db_table)} SET {q('email')} = %s, "  # noqa: S608
                f"{q('verified')} = true, {q('primary')} = true WHERE {q('id')} = %s",
                moved,
            )
        EmailAddress.objects.bulk_create(
            EmailAddress(
                user_id=user, email=f"admin@{admins[user][1]}{suffix}", verified=True, primary=True
            )
            for user in missing
        )

    for pk, domain, admin in customers.iterator(chunk_size=BATCH):
        batch.append((pk, domain, _unique_prefix(domain, taken), admin))
        if len(batch) >= BATCH:
            flush()
            batch = []
    if batch:
        flush()


def restore_admin_logins(apps, schema_editor):
    """Back to admin@<domain> where that address is free (going back past this migration
    also needs every domain to be unique portal-wide again)."""
    Customer = apps.get_model("customers", "Customer")
    User = apps.get_model("portal", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    suffix = f".{settings.CUSTOMER_SIGN_IN_DOMAIN}"
    for domain, prefix, user in (
        Customer.objects.exclude(admin_user=None)
        .values_list("domain", "sign_in_prefix", "admin_user_id")
        .iterator()
    ):
        old, new = f"admin@{domain}", f"admin@{prefix}{suffix}"
        if User.objects.filter(email__iexact=old).exclude(pk=user).exists():
            continue
        User.objects.filter(pk=user, email=new).update(email=old)
        EmailAddress.objects.filter(user_id=user, email=new).update(email=old)


class Migration(migrations.Migration):
    dependencies = [
        ("account", "0009_emailaddress_unique_primary_email"),
        ("customers", "0003_end_delegations_of_ended_partnerships"),
        ("partners", "0006_organization_name_index"),
        ("portal", "0005_user_email_upper"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="sign_in_prefix",
            field=models.CharField(default="", max_length=63, verbose_name="sign-in domain prefix"),
            preserve_default=False,
        ),
        migrations.RunPython(move_admin_logins, restore_admin_logins),
        migrations.AlterField(
            model_name="customer",
            name="sign_in_prefix",
            field=models.CharField(
                max_length=63,
                unique=True,
                validators=[
                    RegexValidator(
                        PATTERN,
                        "Use 1 to 63 lowercase letters, digits and hyphens, starting and "
                        "ending with a letter or digit (for example contoso).",
                        code="invalid_sign_in_prefix",
                    )
                ],
                verbose_name="sign-in domain prefix",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=Q(sign_in_prefix__regex=PATTERN),
                name="customers_customer_sign_in_prefix_label",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="domain",
            field=models.CharField(
                max_length=253,
                validators=[
                    RegexValidator(
                        "^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$",
                        "Enter a domain name such as contoso.com (letters, digits, hyphens "
                        "and dots).",
                        code="invalid_domain",
                    )
                ],
                verbose_name="primary domain",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("provider", "domain"), name="customers_customer_unique_domain_per_provider"
            ),
        ),
    ]
