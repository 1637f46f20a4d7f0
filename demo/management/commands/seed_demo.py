"""Demo data for `make run`, made through the services, as people would make it in the
portal: staff create the providers, the resellers enroll, Contoso requests a partnership
that Fabrikam accepts, invites a colleague, orders for its customers and manages their
subscriptions. So the demo has the activity log and subscription history real use leaves.

Idempotent: each step is skipped once done, so running it twice changes nothing. Only
what has no service stands in for a person: the logins' passwords and the proof that they
hold their (made-up) mailboxes, and the offer catalog, which staff keep in the admin.
"""

import uuid
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
    TeamInvitation,
)
from partners.services.organizations import create_provider, enroll_reseller
from partners.services.partnerships import accept_partnership, request_partnership
from partners.services.team import invite_member
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address
from subscriptions.models import Offer, Subscription
from subscriptions.services.lifecycle import (
    designate_support_contact,
    set_auto_renew,
    set_incentive_reseller,
    set_status,
    upgrade_subscription,
)
from subscriptions.services.orders import add_subscriptions, submit_new_customer_order
from subscriptions.services.renewals import schedule_change

PASSWORD = "demo-pass-2026"  # noqa: S105 (published demo password, DEBUG only)

ORGANIZATIONS = [
    # kind, name, key (this command's name for it), partner id, country, admin email
    ("provider", "Contoso Distribution", "contoso", "4100001", "US", "provider@demo.example"),
    ("reseller", "Fabrikam Solutions", "fabrikam", "5200001", "US", "reseller@demo.example"),
    ("reseller", "Northwind IT", "northwind", "5200002", "GB", "northwind@demo.example"),
    ("provider", "Tailspin Cloud", "tailspin", "4100002", "DE", "tailspin@demo.example"),
]
STAFF_EMAIL = "admin@demo.example"
# A colleague Contoso's admin invited, who has not answered yet (Team page, Invitations).
INVITED_EMAIL = "sales@demo.example"
# Each demo order's idempotency key: the same on every run, so an order is placed once.
ORDER_KEYS = uuid.UUID("6f1c1d55-3c1e-4a8e-9a57-0d3c2f6b9e10")
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
        # Unscoped: the demo acts for several organizations in turn, as their people would.
        with transaction.atomic(), unscoped("demo data"):
            staff = self._user(STAFF_EMAIL, staff=True)
            for kind, name, _slug, partner_id, country, email in ORGANIZATIONS:
                user = self._user(email)
                if Organization.objects.filter(kind=kind, name=name).exists():
                    continue
                if kind == Organization.Kind.PROVIDER:
                    # Staff create providers: verified Partner ID, the user made Admin.
                    create_provider(
                        name=name,
                        partner_id=partner_id,
                        country=country,
                        contact_email=email,
                        admin_email=email,
                        actor=staff,
                    )
                else:
                    # Resellers enroll themselves: their Partner ID stays a claim.
                    enroll_reseller(
                        user=user,
                        name=name,
                        partner_id=partner_id,
                        country=country,
                        contact_email=email,
                    )
            self._partnerships()
            self._team()
            self._catalog()
            self._customers()
            self._subscription_stories()
            self._renewal_stories()
        self.stdout.write(self.style.SUCCESS(f"Demo data is ready. Logins (password {PASSWORD}):"))
        for kind, name, _slug, _pid, _country, email in ORGANIZATIONS:
            self.stdout.write(f"  {email:<26} Admin of {name} ({kind})")
        self.stdout.write(f"  {STAFF_EMAIL:<26} staff superuser (/admin/)")
        self.stdout.write(
            f"  {customer_admin_address('adatum'):<26} customer admin of Adatum Corporation"
        )

    def _org(self, slug: str) -> Organization:
        name = next(name for _k, name, s, *_rest in ORGANIZATIONS if s == slug)
        return Organization.objects.get(name=name)

    def _admin(self, slug: str) -> User:
        email = next(email for *_rest, s, _p, _c, email in ORGANIZATIONS if s == slug)
        return User.objects.get(email=email)

    def _partnerships(self) -> None:
        """Contoso asked Fabrikam, which accepted; a second request is still open."""
        contoso, fabrikam = self._org("contoso"), self._org("fabrikam")
        if not Partnership.objects.filter(provider=contoso, reseller=fabrikam, ended_at=None):
            request, _token = request_partnership(
                provider=contoso,
                actor=self._admin("contoso"),
                email=self._admin("fabrikam").email,
                contact_name="Rita Reseller",
            )
            accept_partnership(request=request, reseller=fabrikam, actor=self._admin("fabrikam"))
        pending = PartnershipRequest.objects.filter(
            provider=contoso,
            email="pending@demo.example",
            state="pending",
            expires_at__gt=timezone.now(),
        )
        if not pending.exists():
            request_partnership(
                provider=contoso,
                actor=self._admin("contoso"),
                email="pending@demo.example",
                contact_name="Pending Reseller",
            )

    def _team(self) -> None:
        contoso = self._org("contoso")
        invited = TeamInvitation.objects.filter(
            organization=contoso, email=INVITED_EMAIL, accepted_at=None, revoked_at=None
        )
        if not any(invitation.is_pending for invitation in invited):
            invite_member(
                org=contoso,
                actor=self._admin("contoso"),
                email=INVITED_EMAIL,
                role=Membership.Role.SALES_AGENT,
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
        """Contoso's new-customer orders, as its wizard submits them."""
        contoso, fabrikam = self._org("contoso"), self._org("fabrikam")
        actor = self._admin("contoso")
        for name, domain, delegated, city, lines in CUSTOMERS:
            prefix = domain.split(".", 1)[0]
            if Customer.objects.filter(sign_in_prefix=prefix).exists():
                continue
            details = {
                "company_name": name,
                "domain": domain,
                "sign_in_prefix": prefix,
                "country": "US",
                "city": city,
                "street": "1 Main Street",
                "postal_code": "98052",
                "contact_first_name": "Alex",
                "contact_last_name": "Doe",
                "contact_email": f"alex@{domain}",
                "contact_phone": "+1 425 555 0100",
                "language": "en",
                "agreement_accepted_on": timezone.localdate(),
                "agreement_accepted_by_name": "Alex Doe",
                "agreement_accepted_by_email": f"alex@{domain}",
            }
            customer, _password = submit_new_customer_order(
                provider=contoso,
                actor=actor,
                details=details,
                reseller=fabrikam if delegated else None,
                lines=[(Offer.objects.get(offer_id=o), n) for o, n in lines],
                idempotency_key=uuid.uuid5(ORDER_KEYS, prefix),
            )
            # In place of the temporary password the provider would hand over, and the
            # customer's admin would change at the first sign-in: the published one.
            admin = customer.admin_user
            admin.set_password(PASSWORD)
            admin.must_change_password = False
            admin.temporary_password_expires_at = None
            admin.save(
                update_fields=["password", "must_change_password", "temporary_password_expires_at"]
            )

    def _subscription_stories(self) -> None:
        """Subscriptions with a past: support designated, upgraded, suspended, cancelled,
        credited to Fabrikam without delegation. Each step is skipped once done."""
        contoso, fabrikam = self._org("contoso"), self._org("fabrikam")
        common = {"actor": self._admin("contoso"), "org": contoso, "version": None}

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
            # Credited only: support goes to the provider or the delegated reseller.
            set_incentive_reseller(subscription=premium, reseller=fabrikam, **common)

    def _renewal_stories(self) -> None:
        """Monthly subscriptions whose term ends within the next weeks, for `make run` to
        show the lifecycle: Adatum's renews with a change scheduled (more licenses),
        Alpine Ski House's expires (auto-renew off); Coho Winery's, suspended, expires
        too. Try `manage.py run_lifecycle --as-of <a month from today>`."""
        contoso, fabrikam = self._org("contoso"), self._org("fabrikam")
        actor = self._admin("contoso")
        exchange = Offer.objects.get(offer_id="EXO-P1-P1M")
        for domain, licenses in (("adatum.example", 10), ("alpineskihouse.example", 5)):
            customer = Customer.objects.get(provider=contoso, domain=domain)
            add_subscriptions(
                provider=contoso,
                actor=actor,
                customer=customer,
                lines=[(exchange, licenses)],
                reseller=fabrikam if customer.reseller_id else None,
                confirm_no_incentive=True,
                idempotency_key=uuid.uuid5(ORDER_KEYS, f"renewal-{domain}"),
            )

        def monthly(domain: str) -> Subscription:
            return Subscription.objects.get(
                customer__provider=contoso, customer__domain=domain, offer=exchange
            )

        renews = monthly("adatum.example")
        if not hasattr(renews, "scheduled_change"):
            schedule_change(subscription=renews, actor=actor, org=contoso, quantity=15)
        expires = monthly("alpineskihouse.example")
        if expires.auto_renew:
            set_auto_renew(
                subscription=expires, actor=actor, org=contoso, auto_renew=False, version=None
            )

    def _user(self, email: str, staff: bool = False) -> User:
        """A demo login: the published password, and in place of the emailed code the
        made-up address cannot receive, a proof that it holds its mailbox (so the resellers
        can answer partnership requests). Customer admins' logins come from their orders."""
        user, _ = User.objects.get_or_create(email=email)
        user.is_staff = user.is_superuser = staff
        user.first_name, user.last_name = NAMES.get(email, ("Alex", "Doe"))
        user.set_password(PASSWORD)
        user.save()
        address, _ = EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        MailboxProof.objects.update_or_create(
            email_address=address, defaults={"method": MailboxProof.Method.DEMO}
        )
        return user
