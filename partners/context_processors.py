from partners.permissions import OrgPermissions
from partners.selectors import memberships_of
from portal.sign_in_domain import is_customer_sign_in_address


def organization(request) -> dict:
    """The acting organization, the user's other organizations, and what the user may do."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Built once per request and kept on it. A page renders one RequestContext, and
    # {% lean_table %} and LeanTemplateColumn render tables into it (portal/tables.py);
    # but each new RequestContext runs this again: tables2's own {% render_table %}, and
    # its TemplateColumn (LeanTemplateColumn's fallback when a table has no page context)
    # once per cell.
    cached = getattr(request, "_organization_context", None)
    if cached is None:
        membership = getattr(request, "membership", None)
        cached = request._organization_context = {
            "current_org": getattr(request, "org", None),
            "current_membership": membership,
            "org_perms": OrgPermissions(membership),
            # Lazy: evaluated only by templates that show the switcher.
            "user_memberships": memberships_of(user=user),
            # The menu offers no "Enroll" to a customer's sign-in account (no query: the
            # login address is enough to hide a link; the service checks them all).
            "signed_in_as_customer": is_customer_sign_in_address(user.email),
        }
    return cached
