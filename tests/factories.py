import datetime

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from partners.models import MailboxProof, Membership, Organization
from portal.models import User
from portal.sign_in_domain import customer_admin_address

PASSWORD = "correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        # allauth logins need a verified primary address (mandatory verification). By
        # default it is one the person proved with the emailed code (a MailboxProof);
        # `verified__proven=False` makes one that was only marked verified.
        if create and extracted is not False:
            address = EmailAddress.objects.create(
                user=obj, email=obj.email, verified=True, primary=True
            )
            if kwargs.get("proven", True):
                MailboxProof.objects.create(email_address=address, method=MailboxProof.Method.CODE)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.PROVIDER
    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    partner_id = factory.Sequence(lambda n: f"{7000000 + n}")
    country = "US"
    contact_email = factory.Sequence(lambda n: f"contact{n}@org.example.test")


class ProviderFactory(OrganizationFactory):
    kind = Organization.Kind.PROVIDER
    # Staff create providers (create_provider), which verifies their Partner ID.
    partner_id_status = Organization.PartnerIdStatus.VERIFIED
    name = factory.Sequence(lambda n: f"Provider {n}")


class ResellerFactory(OrganizationFactory):
    kind = Organization.Kind.RESELLER
    name = factory.Sequence(lambda n: f"Reseller {n}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(ProviderFactory)
    role = Membership.Role.ADMIN


class CustomerFactory(DjangoModelFactory):
    """A customer with its admin account (password: PASSWORD, already changed)."""

    class Meta:
        model = "customers.Customer"

    provider = factory.SubFactory(ProviderFactory)
    reseller = None
    company_name = factory.Sequence(lambda n: f"Customer {n}")
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    sign_in_prefix = factory.Sequence(lambda n: f"customer{n}")
    country = "US"
    city = "Redmond"
    street = "1 Main Street"
    postal_code = "98052"
    contact_first_name = "Alex"
    contact_last_name = "Doe"
    contact_email = factory.LazyAttribute(lambda o: f"alex@{o.domain}")
    contact_phone = "+1 425 555 0100"
    language = "en"
    agreement_accepted_on = datetime.date(2026, 1, 5)
    agreement_accepted_by_name = "Alex Doe"
    agreement_accepted_by_email = factory.LazyAttribute(lambda o: f"alex@{o.domain}")
    # admin@customer<n>.portal.example: on the portal's sign-in domain, as the wizard makes it.
    admin_user = factory.SubFactory(
        UserFactory,
        email=factory.LazyAttribute(
            lambda o: customer_admin_address(o.factory_parent.sign_in_prefix)
        ),
    )


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = "subscriptions.Offer"

    name = factory.Sequence(lambda n: f"Offer {n}")
    offer_id = factory.Sequence(lambda n: f"OFFER-{n}")
    term = "P1Y"
    billing_frequency = "monthly"
    unit_price = "10.00"
    min_licenses = 1
    max_licenses = 100


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = "subscriptions.Subscription"

    customer = factory.SubFactory(CustomerFactory)
    offer = factory.SubFactory(OfferFactory)
    quantity = 5
    term = "P1Y"
    billing_frequency = "monthly"
    start_date = datetime.date(2026, 11, 1)
    renewal_date = datetime.date(2027, 11, 1)
