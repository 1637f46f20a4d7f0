from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from subscriptions.models import Offer


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
                help_text=_("%(min)s to %(max)s licenses · %(term)s, billed %(billing)s")
                % {
                    "min": offer.min_licenses,
                    "max": offer.max_licenses,
                    "term": offer.get_term_display(),
                    "billing": offer.get_billing_frequency_display().lower(),
                },
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
                    _("%(offer)s takes at most %(max)s licenses.")
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


class ReviewForm(forms.Form):
    """The last step: nothing to fill in; it carries the submit's idempotency key."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
