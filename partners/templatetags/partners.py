from django import template
from django.urls import reverse

from partners.models import Membership
from partners.permissions import can

register = template.Library()


@register.simple_tag(takes_context=True)
def switch_org_url(context, membership: Membership) -> str:
    """The same page in another organization when it exists there, else its dashboard."""
    request = context["request"]
    match = request.resolver_match
    if match is not None and set(match.kwargs) == {"org_slug"}:
        action = getattr(getattr(match.func, "view_class", None), "action", None)
        if action and can(membership, action):
            return reverse(match.view_name, kwargs={"org_slug": membership.organization.slug})
    return membership.organization.get_absolute_url()
