"""Demo data for `make run`. Idempotent: running it twice changes nothing."""

from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from partners.models import (
    MailboxProof,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
)
from partners.services.partnerships import request_partnership
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address
from subscriptions.models import Offer, Order, Subscription, SubscriptionEvent
from subscriptions.services.lifecycle import (
    designate_support_contact,
    set_incentive_reseller,
    set_status,
    upgrade_subscription,
)
from subscriptions.services.orders import renewal_date

PASSWORD = "demo-pass-2026"  # noqa: S105 (published demo password, DEBUG only)

ORGANIZATIONS = [
    # kind, name, slug, partner id, country, admin email
    ("provider", "Contoso Distribution", "contoso", "4100001", "US", "provider@demo.example"),
    ("reseller", "Fabrikam Solutions", "fabrikam", "5200001", "US", "reseller@demo.example"),
    ("reseller", "Northwind IT", "northwind", "5200002", "GB", "northwind@demo.example"),
    ("provider", "Tailspin Cloud", "tailspin", "4100002", "DE", "tailspin@demo.example"),
]
STAFF_EMAIL = "admin@demo.example"
OFFERS = [
    # offer id, name, term, billing, unit price, min, max, description
    (
        "M365-BASIC-P1Y",
        "Microsoft 365 Business Basic",
        "P1Y",
        "monthly",
        "6.00",
        1,
        300,
        "Web and mobile Office apps, email, Teams and 1 TB of storage.",
    ),
    (
        "M365-STD-P1Y",
        "Microsoft 365 Business Standard",
        "P1Y",
        "monthly",
        "12.50",
        1,
        300,
        "Desktop Office apps with everything in Business Basic.",
    ),
    (
        "M365-PREM-P1Y",
        "Microsoft 365 Business Premium",
        "P1Y",
        "annual",
        "22.00",
        1,
        300,
        "Business Standard plus advanced security and device management.",
    ),
    (
        "EXO-P1-P1M",
        "Exchange Online (Plan 1)",
        "P1M",
        "monthly",
        "4.00",
        1,
        1000,
        "Business email with a 50 GB mailbox.",
    ),
    (
        "TEAMS-ESS-P1Y",
        "Microsoft Teams Essentials",
        "P1Y",
        "monthly",
        "4.00",
        1,
        300,
        "Meetings, chat and file sharing for small businesses.",
    ),
    (
        "AZ-PLAN-P1M",
        "Azure plan",
        "P1M",
        "monthly",
        "0.00",
        1,
        1,
        "Pay-as-you-go Azure consumption.",
    ),
    (
        "D365-SALES-P3Y",
        "Dynamics 365 Sales Professional",
        "P3Y",
        "annual",
        "65.00",
        5,
        500,
        "Sales force automation, three-year term.",
    ),
]
# company, domain, delegated to Fabrikam?, city, [(offer id, licenses)]. Each admin signs
# in as admin@<first label of the domain>.<CUSTOMER_SIGN_IN_DOMAIN>, as the wizard makes it.
CUSTOMERS = [
    (
        "Adatum Corporation",
        "adatum.example",
        True,
        "Redmond",
        [("M365-STD-P1Y", 25), ("TEAMS-ESS-P1Y", 25)],
    ),
    ("Alpine Ski House", "alpineskihouse.example", True, "Denver", [("M365-BASIC-P1Y", 12)]),
    ("Coho Winery", "cohowinery.example", False, "Napa", [("EXO-P1-P1M", 8)]),
    (
        "Wide World Importers",
        "wideworldimporters.example",
        False,
        "Seattle",
        [("M365-PREM-P1Y", 40), ("AZ-PLAN-P1M", 1)],
    ),
]
NAMES = {
    "provider@demo.example": ("Pat", "Provider"),
    "reseller@demo.example": ("Rita", "Reseller"),
    "northwind@demo.example": ("Nina", "Northwind"),
    "tailspin@demo.example": ("Tom", "Tailspin"),
    STAFF_EMAIL: ("Sam", "Staff"),
}


class Command(BaseCommand):
    help = "Load the demo organizations and logins (refuses when DEBUG is false unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is false.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG=false: it creates accounts with a "
                "published password. Use --force if you really mean it."
            )
        with transaction.atomic(), unscoped("demo data"):
            self._user(STAFF_EMAIL, staff=True)
            for kind, name, slug, partner_id, country, email in ORGANIZATIONS:
                # By slug: Partner IDs are claims, which another organization may share.
                org, _ = Organization.objects.update_or_create(
                    slug=slug,
                    defaults={
                        "kind": kind,
                        "name": name,
                        "partner_id": partner_id,
                        "country": country,
                        "contact_email": email,
                        # Staff create providers, so theirs are verified; the resellers'
                        # stay unverified, as after a real enrollment.
                        "partner_id_status": "verified" if kind == "provider" else "unverified",
                    },
                )
                user = self._user(email)
                Membership.objects.update_or_create(
                    user=user, organization=org, defaults={"role": "admin"}
                )
                # The demo's made-up addresses receive no mail: the demo stands in for
                # the emailed code, so its resellers can answer partnership requests.
                # (Customer admins get no proof, as in real use.)
                MailboxProof.objects.update_or_create(
                    email_address=EmailAddress.objects.get(user=user, email=email),
                    defaults={"method": MailboxProof.Method.DEMO},
                )
            self._partnerships()
            self._catalog()
            self._customers()
            self._subscription_stories()
        self.stdout.write(self.style.SUCCESS(f"Demo data is ready. Logins (password {PASSWORD}):"))
        for kind, name, _slug, _pid, _country, email in ORGANIZATIONS:
            self.stdout.write(f"  {email:<26} Admin of {name} ({kind})")
        self.stdout.write(f"  {STAFF_EMAIL:<26} staff superuser (/admin/)")
        self.stdout.write(
            f"  {customer_admin_address('adatum'):<26} customer admin of Adatum Corporation"
        )

    def _partnerships(self) -> None:
        contoso = Organization.objects.get(slug="contoso")
        fabrikam = Organization.objects.get(slug="fabrikam")
        Partnership.objects.get_or_create(provider=contoso, reseller=fabrikam, ended_at=None)
        pending = PartnershipRequest.objects.filter(
            provider=contoso,
            email="pending@demo.example",
            state="pending",
            expires_at__gt=timezone.now(),
        )
        if not pending.exists():
            request_partnership(
                provider=contoso,
                actor=User.objects.get(email="provider@demo.example"),
                email="pending@demo.example",
                contact_name="Pending Reseller",
            )

    def _catalog(self) -> None:
        for offer_id, name, term, billing, price, low, high, description in OFFERS:
            Offer.objects.update_or_create(
                offer_id=offer_id,
                defaults={
                    "name": name,
                    "term": term,
                    "billing_frequency": billing,
                    "unit_price": Decimal(price),
                    "currency": "USD",
                    "min_licenses": low,
                    "max_licenses": high,
                    "description": description,
                    "is_active": True,
                },
            )
        basic, standard = (
            Offer.objects.get(offer_id=i) for i in ("M365-BASIC-P1Y", "M365-STD-P1Y")
        )
        basic.upgrades.add(standard)

    def _customers(self) -> None:
        contoso = Organization.objects.get(slug="contoso")
        fabrikam = Organization.objects.get(slug="fabrikam")
        actor = User.objects.get(email="provider@demo.example")
        for name, domain, reseller, city, lines in CUSTOMERS:
            prefix = domain.split(".", 1)[0]
            customer = Customer.objects.filter(sign_in_prefix=prefix).first()
            if customer is None:
                customer = Customer.objects.create(
                    provider=contoso,
                    reseller=fabrikam if reseller else None,
                    company_name=name,
                    domain=domain,
                    sign_in_prefix=prefix,
                    country="US",
                    city=city,
                    street="1 Main Street",
                    postal_code="98052",
                    contact_first_name="Alex",
                    contact_last_name="Doe",
                    contact_email=f"alex@{domain}",
                    contact_phone="+1 425 555 0100",
                    language="en",
                    agreement_accepted_on=timezone.localdate(),
                    agreement_accepted_by_name="Alex Doe",
                    agreement_accepted_by_email=f"alex@{domain}",
                    admin_user=self._user(customer_admin_address(prefix)),
                    created_by=actor,
                )
                order = Order.objects.create(provider=contoso, customer=customer, created_by=actor)
                today = timezone.localdate()
                for offer_id, quantity in lines:
                    offer = Offer.objects.get(offer_id=offer_id)
                    subscription = Subscription.objects.create(
                        customer=customer,
                        order=order,
                        offer=offer,
                        quantity=quantity,
                        term=offer.term,
                        billing_frequency=offer.billing_frequency,
                        start_date=today,
                        renewal_date=renewal_date(today, offer.term),
                        reseller=customer.reseller,
                    )
                    SubscriptionEvent.objects.create(
                        subscription=subscription,
                        actor=actor,
                        organization=contoso,
                        verb="created",
                        changes={
                            "licenses": quantity,
                            "reseller": getattr(customer.reseller, "name", None),
                        },
                    )

    def _subscription_stories(self) -> None:
        """Subscriptions with a past: support designated, upgraded, suspended, cancelled,
        credited to Fabrikam without delegation. Each step is skipped once done."""
        contoso = Organization.objects.get(slug="contoso")
        fabrikam = Organization.objects.get(slug="fabrikam")
        actor = User.objects.get(email="provider@demo.example")
        common = {"actor": actor, "org": contoso, "version": None}

        def sub(domain: str, offer_id: str) -> Subscription | None:
            return Subscription.objects.filter(
                customer__provider=contoso, customer__domain=domain, offer__offer_id__in=[offer_id]
            ).first()

        teams = sub("adatum.example", "TEAMS-ESS-P1Y")
        if teams and teams.support_contact is None:
            designate_support_contact(subscription=teams, contact=fabrikam, **common)
        basic = sub("alpineskihouse.example", "M365-BASIC-P1Y")
        if basic:
            upgrade_subscription(
                subscription=basic, offer=Offer.objects.get(offer_id="M365-STD-P1Y"), **common
            )
        exchange = sub("cohowinery.example", "EXO-P1-P1M")
        if exchange and exchange.status == "active":
            set_status(subscription=exchange, status="suspended", **common)
        azure = sub("wideworldimporters.example", "AZ-PLAN-P1M")
        if azure and azure.status == "active":
            set_status(subscription=azure, status="cancelled", **common)
        premium = sub("wideworldimporters.example", "M365-PREM-P1Y")
        if premium and premium.reseller is None:
            set_incentive_reseller(subscription=premium, reseller=fabrikam, **common)
            designate_support_contact(subscription=premium, contact=fabrikam, **common)

    def _user(self, email: str, staff: bool = False) -> User:
        user, _ = User.objects.get_or_create(email=email)
        user.is_staff = user.is_superuser = staff
        user.first_name, user.last_name = NAMES.get(email, ("Alex", "Doe"))
        user.set_password(PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
