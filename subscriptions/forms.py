from django import forms
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.models import Organization
from portal.forms import HiddenFieldsMixin
from subscriptions.models import Offer


def license_range(offer: Offer) -> str:
    """ "1 to 300 licenses", "Exactly 1 license": plural by the largest number."""
    if offer.min_licenses == offer.max_licenses:
        return ngettext(
            "Exactly %(max)s license", "Exactly %(max)s licenses", offer.max_licenses
        ) % {"max": offer.max_licenses}
    return ngettext(
        "%(min)s to %(max)s license", "%(min)s to %(max)s licenses", offer.max_licenses
    ) % {"min": offer.min_licenses, "max": offer.max_licenses}


def billed(offer: Offer) -> str:
    if offer.billing_frequency == Offer.BillingFrequency.MONTHLY:
        return gettext("billed monthly")
    return gettext("billed annually")


class OrderLinesForm(forms.Form):
    """New subscription: a licenses field per orderable offer; leave blank to skip one."""

    def __init__(self, *args, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.offers = list(offers)
        for offer in self.offers:
            self.fields[self.field_name(offer)] = forms.IntegerField(
                label=offer.name,
                required=False,
                min_value=0,
                help_text=f"{license_range(offer)} · {offer.get_term_display()}, {billed(offer)}",
                widget=forms.NumberInput(
                    attrs={"inputmode": "numeric", "placeholder": "0", "max": offer.max_licenses}
                ),
            )

    @staticmethod
    def field_name(offer: Offer) -> str:
        return f"offer_{offer.pk}"

    def clean(self):
        cleaned = super().clean()
        chosen = 0
        for offer in self.offers:
            name = self.field_name(offer)
            quantity = cleaned.get(name)
            if not quantity:
                continue
            chosen += 1
            if quantity > offer.max_licenses:
                self.add_error(
                    name,
                    ngettext(
                        "%(offer)s takes at most %(max)s license.",
                        "%(offer)s takes at most %(max)s licenses.",
                        offer.max_licenses,
                    )
                    % {"offer": offer.name, "max": offer.max_licenses},
                )
            elif quantity < offer.min_licenses:
                self.add_error(
                    name,
                    ngettext(
                        "%(offer)s needs at least %(min)s license.",
                        "%(offer)s needs at least %(min)s licenses.",
                        offer.min_licenses,
                    )
                    % {"offer": offer.name, "min": offer.min_licenses},
                )
        if not chosen and not self.errors:
            raise forms.ValidationError(
                _("Choose at least one subscription and enter its number of licenses.")
            )
        return cleaned

    def lines(self) -> list[tuple[Offer, int]]:
        """The chosen (offer, licenses) pairs, after validation."""
        return [
            (offer, self.cleaned_data[self.field_name(offer)])
            for offer in self.offers
            if self.cleaned_data.get(self.field_name(offer))
        ]


class ReviewForm(HiddenFieldsMixin, forms.Form):
    """The last step: nothing to fill in; it carries the submit's idempotency key."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)


class AddSubscriptionsForm(HiddenFieldsMixin, OrderLinesForm):
    """New subscription (existing customer): offers, licenses, and the incentive reseller."""

    reseller = forms.ModelChoiceField(
        label=_("Associate with reseller (incentive credit)"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("None"),
        help_text=_("Associating the reseller with the subscription lets it earn incentives."),
    )
    confirm_no_incentive = forms.BooleanField(
        label=_("No reseller gets incentive credit for this order."), required=False
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, resellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = resellers


class VersionedForm(HiddenFieldsMixin, forms.Form):
    """Carries the version the person saw, so a concurrent change is detected."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class SupportContactForm(VersionedForm):
    contact = forms.ModelChoiceField(
        label=_("Designated support contact"),
        queryset=Organization.objects.none(),
        empty_label=None,
    )

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts


class IncentiveForm(VersionedForm):
    reseller = forms.ModelChoiceField(
        label=_("Reseller for incentive credit"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("None"),
    )

    def __init__(self, *args, resellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = resellers


# Shown as a message at the top of the subscription page, away from the field: each
# one says which number it is about.
LICENSE_ERRORS = {
    "required": _("Enter the number of licenses."),
    "invalid": _("Enter the number of licenses as a whole number."),
    "min_value": _("A subscription needs at least 1 license."),
}


class LicensesForm(VersionedForm):
    quantity = forms.IntegerField(
        label=_("Number of licenses"), min_value=1, error_messages=LICENSE_ERRORS
    )


class AddLicensesForm(HiddenFieldsMixin, forms.Form):
    """Add licenses to whatever the subscription has when it is saved (no version: two
    people adding at once both count). The key makes a double click one addition."""

    count = forms.IntegerField(
        label=_("Licenses to add"),
        min_value=1,
        error_messages={
            "required": _("Enter how many licenses to add."),
            "invalid": _("Enter how many licenses to add as a whole number."),
            "min_value": _("Add at least 1 license."),
        },
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)


class AutoRenewForm(VersionedForm):
    auto_renew = forms.BooleanField(label=_("Renew automatically"), required=False)


class UpgradeForm(VersionedForm):
    offer = forms.ModelChoiceField(
        label=_("Upgrade to"), queryset=Offer.objects.none(), empty_label=None
    )

    def __init__(self, *args, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = offers


class RenewalForm(forms.Form):
    """Manage renewal: what changes when the term ends. Blank fields keep what is."""

    expire = forms.BooleanField(
        label=_("Turn auto-renew off: let the subscription expire at the term end"),
        required=False,
    )
    quantity = forms.IntegerField(
        label=_("Licenses for the next term"),
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    offer = forms.TypedChoiceField(
        label=_("Upgrade at renewal to"), required=False, coerce=int, empty_value=None
    )
    term = forms.ChoiceField(label=_("Term for the next term"), required=False)
    billing_frequency = forms.ChoiceField(label=_("Billing for the next term"), required=False)

    def __init__(self, *args, offers, terms, **kwargs):
        """`offers`: the upgrades allowed (a list, read once for the whole page)."""
        super().__init__(*args, **kwargs)
        self.offers = {offer.pk: offer for offer in offers}
        self.fields["offer"].choices = [("", _("No upgrade"))] + [
            (offer.pk, offer.name) for offer in offers
        ]
        labels = dict(Offer.Term.choices)
        self.fields["term"].choices = [("", _("Unchanged"))] + [(t, labels[t]) for t in terms]
        self.fields["billing_frequency"].choices = [
            ("", _("Unchanged")),
            *Offer.BillingFrequency.choices,
        ]

    def clean_offer(self):
        pk = self.cleaned_data["offer"]
        return self.offers.get(pk) if pk else None
