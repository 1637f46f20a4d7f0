from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import pgettext

from partners.models import Membership, Organization
from partners.permissions import OrgPermissions, can

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


@register.filter
def on(perms: OrgPermissions, obj) -> OrgPermissions:
    """`{% with perms=org_perms|on:record %}`: what the member may do to one row's object
    (partners/permissions.py). Outside a signed-in member's page there is no org_perms
    (an empty string): it stays empty, so every question is "no"."""
    return perms.on(obj) if isinstance(perms, OrgPermissions) else perms


@register.simple_tag
def partner_id(org: Organization) -> SafeString:
    """The Partner ID, with "unverified" (or "rejected") beside it until staff verify it:
    anyone can claim any Partner ID at enrollment."""
    if org.partner_id_verified:
        return format_html('<span class="mono">{}</span>', org.partner_id)
    if org.partner_id_status == Organization.PartnerIdStatus.REJECTED:
        badge, label = "danger", pgettext("Partner ID", "rejected")
    else:
        badge, label = "warning", pgettext("Partner ID", "unverified")
    return format_html(
        '<span class="mono">{}</span> <span class="badge badge--{}">{}</span>',
        org.partner_id,
        badge,
        label,
    )
