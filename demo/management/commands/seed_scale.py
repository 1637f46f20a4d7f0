"""A large, realistic data set for load tests and query plans, loaded with COPY.

    python manage.py seed_scale --providers 3 --resellers 5000 \
        --customers 1000000 --subscriptions 3000000

Everything it writes is recognisable (organizations `scale-*`, users `*scale.example`,
customers' admins `admin@scale-*` on the sign-in domain), so `--reset` removes exactly
that and nothing else. Running it again with the same
sizes changes nothing. Refuses SQLite and DEBUG=false unless --force: it creates logins
with a published password.
"""

import calendar
import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from demo.management.commands.seed_demo import OFFERS
from partners.models import AuditEvent, Membership, Organization, Partnership
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address
from subscriptions.models import Offer, Order, Subscription, SubscriptionEvent

PASSWORD = "scale-load-2026"  # noqa: S105 (published load-test password, like seed_demo's)
EMAIL_DOMAIN = "scale.example"
SLUG_PREFIX = "scale-"
# Partner IDs of seeded organizations: 7xxxxxxx providers, 8xxxxxxx resellers (8 digits,
# so they never meet seed_demo's or the factories' 7-digit ones).
PROVIDER_ID_BASE = 70_000_000
SMALL_PROVIDER_RESELLERS = 30
RESELLER_ID_BASE = 80_000_000

WORDS_A = [
    "Alpine",
    "Blue",
    "Bright",
    "Cedar",
    "Cobalt",
    "Coral",
    "Crystal",
    "Delta",
    "Eagle",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Horizon",
    "Iron",
    "Jade",
    "Lumen",
    "Maple",
    "Meridian",
    "Nova",
    "Oak",
    "Orbit",
    "Pine",
    "Polar",
    "Quartz",
    "Red",
    "River",
    "Sage",
    "Silver",
    "Solar",
    "Summit",
    "Terra",
    "Tidal",
    "Urban",
    "Vertex",
    "Willow",
    "Zenith",
]
WORDS_B = [
    "Analytics",
    "Bakery",
    "Builders",
    "Clinic",
    "Consulting",
    "Design",
    "Dynamics",
    "Energy",
    "Engineering",
    "Foods",
    "Freight",
    "Health",
    "Imports",
    "Industries",
    "Labs",
    "Legal",
    "Logistics",
    "Media",
    "Motors",
    "Networks",
    "Outfitters",
    "Partners",
    "Pharma",
    "Robotics",
    "Software",
    "Studios",
    "Systems",
    "Textiles",
    "Travel",
    "Ventures",
    "Works",
]
SUFFIXES = ["Ltd", "Inc", "GmbH", "LLC", "Co", "Group", "SA", "BV"]
FIRST = [
    "Alex",
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kai",
    "Lena",
    "Mei",
    "Omar",
    "Priya",
    "Sam",
    "Wei",
]
LAST = [
    "Brown",
    "Chen",
    "Garcia",
    "Ito",
    "Khan",
    "Kim",
    "Lopez",
    "Meyer",
    "Novak",
    "Patel",
    "Rossi",
    "Smith",
    "Wang",
    "Zhang",
]
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "NL", "AU", "CA", "JP", "CN", "SG"]
CITIES = {
    "US": "Seattle",
    "GB": "London",
    "DE": "Berlin",
    "FR": "Paris",
    "NL": "Utrecht",
    "AU": "Sydney",
    "CA": "Toronto",
    "JP": "Osaka",
    "CN": "Shanghai",
    "SG": "Singapore",
}
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
HISTORY_DAYS = 3 * 365


def add_months(day: date, months: int) -> date:
    """Same calendar arithmetic as relativedelta(months=n), without its per-call cost."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def provider_email(n: int) -> str:
    return f"load-provider-{n}@{EMAIL_DOMAIN}"


def reseller_email(n: int) -> str:
    return f"load-reseller-{n}@{EMAIL_DOMAIN}"


class Copier:
    """COPY rows into a model's table; columns the seed does not set get their default
    (computed once), so an added column with a default does not break the seed."""

    def __init__(self, cursor, model, columns: str):
        columns = columns.split()
        self.cursor, self.table = cursor, model._meta.db_table
        self.extra: list = []
        names = list(columns)
        for field in model._meta.concrete_fields:
            if field.column in columns or field.db_returning:  # the database numbers it
                continue
            if field.has_default() and not callable(field.default):
                value = field.get_db_prep_save(field.get_default(), connection)
            elif field.null:
                value = None
            else:
                raise CommandError(f"seed_scale does not fill {self.table}.{field.column}.")
            names.append(field.column)
            self.extra.append(value)
        self.sql = f"COPY {self.table} ({', '.join(f'"{n}"' for n in names)}) FROM STDIN"

    def __call__(self, rows) -> int:
        count, extra = 0, tuple(self.extra)
        with self.cursor.copy(self.sql) as copy:
            for row in rows:
                copy.write_row(row + extra)
                count += 1
        return count


def next_id(cursor, model) -> int:
    table = model._meta.db_table
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
    return cursor.fetchone()[0]


def sync_sequence(cursor, model) -> None:
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",  # noqa: S608
        [table],
    )


class Command(BaseCommand):
    help = "Load a large synthetic data set with COPY (PostgreSQL only)."

    def add_arguments(self, parser):
        parser.add_argument("--providers", type=int, default=1)
        parser.add_argument("--resellers", type=int, default=50)
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--subscriptions", type=int, default=50_000)
        parser.add_argument("--delegated", type=float, default=0.4, help="Share delegated.")
        parser.add_argument(
            "--small",
            type=int,
            default=0,
            help="Skewed tenants: every provider but the second gets this many customers "
            "(and a proportional share of the resellers); the second gets the rest. "
            "Benchmarks compare a small and a huge tenant in one database. Default: even.",
        )
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")
        parser.add_argument("--no-history", action="store_true", help="Skip activity rows.")
        parser.add_argument("--reset", action="store_true", help="Remove seeded data first.")
        parser.add_argument("--force", action="store_true", help="Run with DEBUG=false.")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (it loads with COPY).")
        if not settings.DEBUG and not opts["force"]:
            raise CommandError(
                "Refusing with DEBUG=false: it creates logins with a published password. "
                "Use --force on a database made for load tests."
            )
        if min(opts["providers"], opts["customers"]) < 1 or opts["resellers"] < 0:
            raise CommandError("Give at least one provider and one customer.")
        if opts["subscriptions"] < opts["customers"]:
            raise CommandError("Give at least one subscription per customer.")
        started = time.monotonic()
        if opts["reset"]:
            with transaction.atomic():
                self.reset()
            self.stdout.write(
                f"Removed the previous data set in {time.monotonic() - started:.1f} s."
            )
        existing = self.existing_size()
        wanted = {k: opts[k] for k in ("providers", "resellers", "customers", "subscriptions")}
        if existing == wanted:
            self.stdout.write("The data set is already loaded with these sizes; nothing to do.")
            self.print_logins(opts["providers"], opts["resellers"])
            return
        if any(existing.values()):
            raise CommandError(
                f"A different data set is loaded ({existing}); add --reset to replace it."
            )
        self.rng = random.Random(opts["seed"])  # noqa: S311 (synthetic data, not security)
        self.counts: dict[str, int] = {}
        load_started = time.monotonic()
        with transaction.atomic():
            self.load(**opts)
        seconds = time.monotonic() - load_started
        self.analyze()
        rows = sum(self.counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s); "
                f"ANALYZE done at {time.monotonic() - started:.1f} s."
            )
        )
        for table, count in self.counts.items():
            self.stdout.write(f"  {table:<34} {count:>12,}")
        self.print_logins(opts["providers"], opts["resellers"])

    # --------------------------------------------------------------------------
    def existing_size(self) -> dict[str, int]:
        orgs = Organization.objects.filter(slug__startswith=SLUG_PREFIX)
        providers = orgs.filter(kind=Organization.Kind.PROVIDER)
        # Seeded rows only: customers a load run adds (wizard) are not part of the size.
        with unscoped("seed_scale sizes the whole data set"):
            seeded = Customer.objects.filter(provider__in=providers, idempotency_key__isnull=True)
            return {
                "providers": providers.count(),
                "resellers": orgs.filter(kind=Organization.Kind.RESELLER).count(),
                "customers": seeded.count(),
                "subscriptions": Subscription.objects.filter(customer__in=seeded).count(),
            }

    def print_logins(self, providers: int, resellers: int) -> None:
        self.stdout.write(f"Logins (password {PASSWORD}):")
        self.stdout.write(f"  {provider_email(1)} … {provider_email(providers)} (provider Admins)")
        if resellers:
            self.stdout.write(
                f"  {reseller_email(1)} … {reseller_email(resellers)} (reseller Admins)"
            )

    def analyze(self) -> None:
        # Fresh planner statistics: without them the first load run plans as if empty.
        with connection.cursor() as cursor:
            for model in (User, Customer, Order, Subscription, SubscriptionEvent, AuditEvent):
                cursor.execute(f"ANALYZE {model._meta.db_table}")

    def reset(self) -> None:
        """Delete the seeded organizations and everything hanging off them, in FK order."""
        with connection.cursor() as c:
            c.execute(
                "CREATE TEMP TABLE scale_org ON COMMIT DROP AS "
                "SELECT id FROM partners_organization WHERE slug LIKE %s",
                [f"{SLUG_PREFIX}%"],
            )
            c.execute(
                "CREATE TEMP TABLE scale_customer ON COMMIT DROP AS SELECT id FROM "
                "customers_customer WHERE provider_id IN (SELECT id FROM scale_org)"
            )
            # Staff logins are on scale.example; the customers' admins sign in on the
            # portal's sign-in domain (those the wizard added during a load run too).
            c.execute(
                "CREATE TEMP TABLE scale_user ON COMMIT DROP AS "
                "SELECT id FROM portal_user WHERE email LIKE %s UNION "
                "SELECT admin_user_id FROM customers_customer WHERE id IN "
                "(SELECT id FROM scale_customer) AND admin_user_id IS NOT NULL",
                [f"%{EMAIL_DOMAIN}"],
            )
            statements = [
                "DELETE FROM subscriptions_subscriptionevent WHERE subscription_id IN "
                "(SELECT id FROM subscriptions_subscription WHERE customer_id IN "
                "(SELECT id FROM scale_customer))",
                "DELETE FROM partners_auditevent WHERE organization_id IN (SELECT id FROM "
                "scale_org) OR provider_id IN (SELECT id FROM scale_org) OR reseller_id IN "
                "(SELECT id FROM scale_org)",
                "DELETE FROM subscriptions_subscription WHERE customer_id IN "
                "(SELECT id FROM scale_customer)",
                "DELETE FROM subscriptions_order WHERE customer_id IN "
                "(SELECT id FROM scale_customer)",
                "DELETE FROM customers_customer WHERE id IN (SELECT id FROM scale_customer)",
                "DELETE FROM partners_partnership WHERE provider_id IN (SELECT id FROM scale_org) "
                "OR reseller_id IN (SELECT id FROM scale_org)",
                "DELETE FROM partners_partnershiprequest WHERE provider_id IN "
                "(SELECT id FROM scale_org) OR reseller_id IN (SELECT id FROM scale_org)",
                "DELETE FROM partners_teaminvitation WHERE organization_id IN "
                "(SELECT id FROM scale_org)",
                "DELETE FROM partners_membership WHERE organization_id IN "
                "(SELECT id FROM scale_org) OR user_id IN (SELECT id FROM scale_user)",
            ]
            for sql in statements:
                c.execute(sql)
            # Whatever else points at the seeded users (email addresses, MFA, sessions'
            # tables of later apps): nullable links are cleared, the rest deleted.
            c.execute(
                """
                SELECT cl.relname, att.attname, NOT att.attnotnull
                FROM pg_constraint con
                JOIN pg_class cl ON cl.oid = con.conrelid
                JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
                WHERE con.contype = 'f' AND con.confrelid = 'portal_user'::regclass
                """
            )
            for table, column, nullable in c.fetchall():
                if nullable:
                    c.execute(
                        f'UPDATE "{table}" SET "{column}" = NULL '  # noqa: S608 (catalog names)
                        f'WHERE "{column}" IN (SELECT id FROM scale_user)'
                    )
                else:
                    c.execute(
                        f'DELETE FROM "{table}" WHERE "{column}" IN (SELECT id FROM scale_user)'  # noqa: S608
                    )
            c.execute("DELETE FROM portal_user WHERE id IN (SELECT id FROM scale_user)")
            c.execute("DELETE FROM partners_organization WHERE id IN (SELECT id FROM scale_org)")

    # --------------------------------------------------------------------------
    def catalog(self) -> list[Offer]:
        """The demo catalog (created where missing); subscriptions use the active offers."""
        for offer_id, name, term, billing, price, low, high, description in OFFERS:
            Offer.objects.get_or_create(
                offer_id=offer_id,
                defaults={
                    "name": name,
                    "term": term,
                    "billing_frequency": billing,
                    "unit_price": Decimal(price),
                    "min_licenses": low,
                    "max_licenses": high,
                    "description": description,
                },
            )
        return list(Offer.objects.filter(is_active=True).order_by("pk"))

    def when(self, day: date) -> datetime:
        return datetime.combine(day, dtime(8), tzinfo=UTC) + timedelta(
            seconds=self.rng.randrange(10 * 3600)
        )

    def load(self, *, providers, resellers, customers, subscriptions, delegated, **opts):
        rng, now, today = self.rng, timezone.now(), timezone.localdate()
        offers = self.catalog()
        password = make_password(PASSWORD)  # hashed once, shared by every seeded login
        c = connection.cursor()

        # Organizations, their Admins, partnerships: small, but COPY keeps one code path.
        org_id = next_id(c, Organization)
        provider_ids = list(range(org_id, org_id + providers))
        reseller_ids = list(range(org_id + providers, org_id + providers + resellers))

        def orgs():
            for n, pk in enumerate(provider_ids, 1):
                yield (
                    pk,
                    now,
                    now,
                    "provider",
                    f"Scale Provider {n}",
                    f"{SLUG_PREFIX}provider-{n}",
                    str(PROVIDER_ID_BASE + n),
                    "US",
                    provider_email(n),
                    "+1 425 555 0100",
                )
            for n, pk in enumerate(reseller_ids, 1):
                name = f"{WORDS_A[n % len(WORDS_A)]} {WORDS_B[n % len(WORDS_B)]} Reseller {n}"
                yield (
                    pk,
                    now,
                    now,
                    "reseller",
                    name,
                    f"{SLUG_PREFIX}reseller-{n}",
                    str(RESELLER_ID_BASE + n),
                    rng.choice(COUNTRIES),
                    reseller_email(n),
                    "",
                )

        cols = "id created_at updated_at kind name slug partner_id country contact_email phone"
        self.counts["organizations"] = Copier(c, Organization, cols)(orgs())
        sync_sequence(c, Organization)

        user_id = next_id(c, User)
        staff_emails = [provider_email(n) for n in range(1, providers + 1)] + [
            reseller_email(n) for n in range(1, resellers + 1)
        ]
        staff_user_ids = list(range(user_id, user_id + len(staff_emails)))
        provider_user = dict(zip(provider_ids, staff_user_ids, strict=False))
        customer_user_base = user_id + len(staff_emails)

        cust_id, order_id = next_id(c, Customer), next_id(c, Order)
        domains = [f"c{n}-{WORDS_A[n % 37].lower()}.{EMAIL_DOMAIN}" for n in range(customers)]
        # Sign-in prefixes are unique portal-wide: "scale-" keeps them apart from any other
        # customer's. The admin accounts sign in as admin@<prefix>.<CUSTOMER_SIGN_IN_DOMAIN>.
        prefixes = [f"{SLUG_PREFIX}{d.split('.', 1)[0]}" for d in domains]
        admins = [customer_admin_address(p) for p in prefixes]

        def users():
            for pk, email in zip(staff_user_ids, staff_emails, strict=True):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                yield (pk, password, False, False, True, now, first, last, email, False, None, "")
            for n, admin in enumerate(admins):
                yield (
                    customer_user_base + n,
                    password,
                    False,
                    False,
                    True,
                    now,
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    admin,
                    False,
                    None,
                    "",
                )

        cols = (
            "id password is_superuser is_staff is_active date_joined first_name last_name email "
            "must_change_password temporary_password_expires_at language"
        )
        self.counts["users"] = Copier(c, User, cols)(users())
        sync_sequence(c, User)

        from allauth.account.models import EmailAddress

        email_id = next_id(c, EmailAddress)
        all_emails = staff_emails + admins
        self.counts["email addresses"] = Copier(
            c, EmailAddress, "id email verified primary user_id"
        )((email_id + n, e, True, True, user_id + n) for n, e in enumerate(all_emails))
        sync_sequence(c, EmailAddress)

        self.counts["memberships"] = Copier(
            c, Membership, "created_at updated_at role user_id organization_id"
        )(
            (now, now, "admin", uid, org)
            for uid, org in zip(staff_user_ids, provider_ids + reseller_ids, strict=True)
        )

        small = opts.get("small") or 0
        if small and (providers < 2 or small * (providers - 1) >= customers):
            raise CommandError("--small needs two providers and fewer customers for them.")

        def provider_of_customer(n: int) -> int:
            if not small:  # contiguous blocks, an even share each
                return provider_ids[n * providers // customers]
            if n < small:
                return provider_ids[0]
            beyond = n - (customers - small * (providers - 2))
            return provider_ids[1] if beyond < 0 else provider_ids[2 + beyond // small]

        # Resellers: an even share each (reseller n partners with provider n mod P), or
        # with --small, the small providers a share in proportion to their customers but
        # at least SMALL_PROVIDER_RESELLERS, so their Indirect resellers page is as full
        # as the big provider's and a benchmark compares pages of the same length.
        partners_of = {p: [] for p in provider_ids}
        if small:
            each = max(SMALL_PROVIDER_RESELLERS, resellers * small // customers)
            small_ids = [provider_ids[0], *provider_ids[2:]]
            for n, reseller in enumerate(reseller_ids):
                k = n // each
                owner = small_ids[k] if k < len(small_ids) else provider_ids[1]
                partners_of[owner].append(reseller)
        else:
            for n, reseller in enumerate(reseller_ids):
                partners_of[provider_ids[n % providers]].append(reseller)
        self.counts["partnerships"] = Copier(
            c, Partnership, "created_at updated_at started_at provider_id reseller_id"
        )(
            (now, now, now - timedelta(days=HISTORY_DAYS), p, r)
            for p, rs in partners_of.items()
            for r in rs
        )

        # Customers: contiguous blocks per provider; a share delegated to a partner.
        cust_provider, cust_reseller, cust_created, cust_name = [], [], [], []
        for n in range(customers):
            provider = provider_of_customer(n)
            partners = partners_of[provider]
            reseller = rng.choice(partners) if partners and rng.random() < delegated else None
            cust_provider.append(provider)
            cust_reseller.append(reseller)

        def customer_rows():
            for n, domain in enumerate(domains):
                accepted = today - timedelta(days=rng.randrange(HISTORY_DAYS))
                created = self.when(accepted)
                cust_created.append(created)
                country = rng.choice(COUNTRIES)
                first, last = rng.choice(FIRST), rng.choice(LAST)
                contact = f"{first.lower()}.{last.lower()}@{domain}"
                name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.choice(SUFFIXES)}"
                cust_name.append(name)
                yield (
                    cust_id + n,
                    created,
                    created,
                    name,
                    domain,
                    prefixes[n],
                    country,
                    CITIES[country],
                    f"{rng.randrange(1, 999)} Main Street",
                    f"{rng.randrange(10000, 99999)}",
                    first,
                    last,
                    contact,
                    "+1 425 555 0100",
                    "zh-hans" if country == "CN" else "en",
                    accepted,
                    f"{first} {last}",
                    contact,
                    customer_user_base + n,
                    provider_user[cust_provider[n]],
                    cust_provider[n],
                    cust_reseller[n],
                )

        cols = (
            "id created_at updated_at company_name domain sign_in_prefix country city street "
            "postal_code "
            "contact_first_name contact_last_name contact_email contact_phone language "
            "agreement_accepted_on agreement_accepted_by_name agreement_accepted_by_email "
            "admin_user_id created_by_id provider_id reseller_id"
        )
        self.counts["customers"] = Copier(c, Customer, cols)(customer_rows())
        sync_sequence(c, Customer)

        self.counts["orders"] = Copier(
            c, Order, "id created_at updated_at created_by_id customer_id provider_id"
        )(
            (order_id + n, cust_created[n], cust_created[n], provider_user[p], cust_id + n, p)
            for n, p in enumerate(cust_provider)
        )
        sync_sequence(c, Order)

        sub_id = next_id(c, Subscription)
        reseller_name = dict(
            Organization.objects.filter(pk__in=reseller_ids).values_list("pk", "name")
        )
        sub_meta = []  # (created, actor, provider, quantity, reseller) for the history rows

        def subscription_rows():
            for n in range(subscriptions):
                k = n if n < customers else rng.randrange(customers)  # everyone has one
                offer = offers[rng.randrange(len(offers))]
                quantity = rng.randint(offer.min_licenses, min(offer.max_licenses, 60))
                roll = rng.random()
                status = (
                    "active"
                    if roll < 0.88
                    else "suspended"
                    if roll < 0.92
                    else "expired"
                    if roll < 0.96
                    else "cancelled"
                )
                months = TERM_MONTHS[offer.term]
                start = cust_created[k].date() + timedelta(days=rng.randrange(30))
                start = min(start, today - timedelta(days=1))
                renewal = add_months(start, months)
                if status in ("active", "suspended"):
                    # Roll the term forward to the next renewal after today.
                    elapsed = (today.year - start.year) * 12 + today.month - start.month
                    renewal = add_months(start, max(1, elapsed // months) * months)
                    while renewal <= today:
                        renewal = add_months(renewal, months)
                elif status == "expired" and renewal > today:
                    status = "active"
                reseller = cust_reseller[k]
                support = reseller if reseller and rng.random() < 0.5 else None
                created = cust_created[k] + timedelta(days=(start - cust_created[k].date()).days)
                sub_meta.append((created, cust_provider[k], quantity, reseller))
                yield (
                    sub_id + n,
                    created,
                    created,
                    quantity,
                    status,
                    offer.term,
                    offer.billing_frequency,
                    start,
                    renewal,
                    status not in ("expired", "cancelled") and rng.random() < 0.9,
                    cust_id + k,
                    offer.pk,
                    order_id + k,
                    reseller,
                    support,
                    1,
                )

        cols = (
            "id created_at updated_at quantity status term billing_frequency start_date "
            "renewal_date auto_renew customer_id offer_id order_id reseller_id "
            "support_contact_id version"
        )
        self.counts["subscriptions"] = Copier(c, Subscription, cols)(subscription_rows())
        sync_sequence(c, Subscription)

        if opts["no_history"]:
            return
        self.counts["subscription history"] = Copier(
            c, SubscriptionEvent, "verb changes created_at actor_id organization_id subscription_id"
        )(
            (
                "created",
                json.dumps({"licenses": q, "reseller": reseller_name.get(r)}),
                created,
                provider_user[p],
                p,
                sub_id + n,
            )
            for n, (created, p, q, r) in enumerate(sub_meta)
        )
        self.counts["activity"] = Copier(
            c,
            AuditEvent,
            "verb target data created_at actor_id organization_id customer_id "
            "provider_id reseller_id",
        )(
            (
                "customer.created",
                cust_name[n],
                json.dumps({"order": order_id + n}),
                cust_created[n],
                provider_user[p],
                p,
                cust_id + n,
                p,
                cust_reseller[n],
            )
            for n, p in enumerate(cust_provider)
        )
