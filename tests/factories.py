import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from partners.models import Membership, Organization
from portal.models import User

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
        # allauth logins need a verified primary address (mandatory verification).
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


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
