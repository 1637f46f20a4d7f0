"""Helpers of the partnership tests: URLs, a drafted request, the emailed link."""

import re

from django.urls import reverse

from partners.models import Organization, Partnership, PartnershipRequest
from portal.scoping import unscoped
from tests.factories import MembershipFactory, ResellerFactory, UserFactory

LINK = re.compile(r"http://\S+/partnerships/[A-Za-z0-9_-]+/")


def url(world, name, org=None, **kwargs):
    return reverse(name, kwargs={"org_slug": (org or world.provider).slug, **kwargs})


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def start_request(client, world, email="owner@newreseller.example", contact_name=""):
    """Request a partnership through the UI; return (request, link, draft page html)."""
    response = client.post(
        url(world, "partners:request-create"), {"email": email, "contact_name": contact_name}
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    draft = response.content.decode()
    link = LINK.search(draft).group(0)
    with unscoped("assert"):
        request = PartnershipRequest.objects.get(email=email, state="pending")
    return request, link, draft


def open_link(client, link):
    """Follow the emailed link as a browser does: it lands on the token-less accept page."""
    response = client.get(path_of(link))
    assert response.status_code == 302, response.status_code
    assert response["Location"] == reverse("partnership-accept")
    return client.get(response["Location"])


def reseller_with_admin(email: str, name="Newco IT") -> Organization:
    user = UserFactory(email=email)
    return MembershipFactory(user=user, organization=ResellerFactory(name=name)).organization


def partner(provider, reseller) -> Partnership:
    with unscoped("test setup"):
        return Partnership.objects.create(provider=provider, reseller=reseller)


def count(model) -> int:
    with unscoped("count"):
        return model.objects.count()
