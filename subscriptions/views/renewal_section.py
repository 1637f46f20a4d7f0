"""The subscription page's Manage renewal section (its own include and context, so the
page's other sections change independently)."""

from partners.permissions import can
from subscriptions.forms import RenewalForm
from subscriptions.models import Subscription
from subscriptions.selectors import scheduled_change
from subscriptions.services import renewals


def renewal_context(membership, subscription: Subscription) -> dict:
    """What the subscription page's Manage renewal section shows: the schedule, and the
    form for those who may change it."""
    schedule = scheduled_change(subscription)
    context = {"schedule": schedule, "renewal_form": None}
    if not subscription.is_final and can(membership, "subscriptions.renewal", subscription):
        options = renewals.renewal_options(subscription)
        initial = {}
        if schedule is not None:
            initial = {
                "expire": schedule.expire,
                "quantity": schedule.quantity,
                "offer": schedule.offer_id,
                "term": schedule.term,
                "billing_frequency": schedule.billing_frequency,
            }
        context["renewal_form"] = RenewalForm(
            initial=initial, offers=options["offers"], terms=options["terms"]
        )
    return context
