from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries.fields import LazyTypedChoiceField

from customers.models import domain_validator
from customers.selectors import domain_in_use
from partners.forms import country_choices
from partners.models import Organization


class CustomerAccountForm(forms.Form):
    """The customer's account information (New customer step 1, and the Account tab)."""

    company_name = forms.CharField(label=_("Company name"), max_length=200)
    domain = forms.CharField(
        label=_("Primary domain"),
        max_length=253,
        help_text=_("The customer's own domain, e.g. contoso.com. Must be unique in the portal."),
    )
    country = LazyTypedChoiceField(label=_("Country"), choices=country_choices)
    city = forms.CharField(label=_("City"), max_length=100)
    street = forms.CharField(label=_("Street address"), max_length=200)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20)
    contact_first_name = forms.CharField(label=_("Contact first name"), max_length=100)
    contact_last_name = forms.CharField(label=_("Contact last name"), max_length=100)
    contact_email = forms.EmailField(label=_("Contact email"))
    contact_phone = forms.RegexField(
        label=_("Contact phone"),
        max_length=40,
        regex=r"^\+?[0-9 ()./-]{6,40}$",
        error_messages={"invalid": _("Enter a phone number, e.g. +1 425 555 0100.")},
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def clean_domain(self) -> str:
        domain = self.cleaned_data["domain"].strip().lower().rstrip(".")
        domain = domain.removeprefix("https://").removeprefix("http://").removeprefix("www.")
        domain_validator(domain)
        return domain


class CustomerDetailsForm(CustomerAccountForm):
    """New customer, step 1: account information, the agreement, the indirect reseller."""

    agreement_accepted_on = forms.DateField(
        label=_("Customer agreement accepted on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The date the customer accepted the program's customer agreement."),
    )
    agreement_accepted_by_name = forms.CharField(label=_("Accepted by (name)"), max_length=200)
    agreement_accepted_by_email = forms.EmailField(label=_("Accepted by (email)"))
    agreement_attested = forms.BooleanField(
        label=_("I confirm the customer accepted the customer agreement."),
        error_messages={"required": _("Confirm that the customer accepted the agreement.")},
    )
    reseller = forms.ModelChoiceField(
        label=_("Indirect reseller"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("None (you manage this customer)"),
        help_text=_(
            "The reseller gets administrator access to this customer's account and subscriptions."
        ),
    )

    def __init__(self, *args, resellers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = (
            resellers if resellers is not None else (Organization.objects.none())
        )

    def clean_domain(self) -> str:
        # Checked here too (not only at Submit), so the person learns it on this step.
        domain = super().clean_domain()
        if domain_in_use(domain=domain):
            raise forms.ValidationError(
                _("A customer with the domain %(domain)s already exists.") % {"domain": domain}
            )
        return domain

    def clean_agreement_accepted_on(self):
        from django.utils import timezone

        accepted = self.cleaned_data["agreement_accepted_on"]
        if accepted > timezone.localdate():
            raise forms.ValidationError(_("The acceptance date cannot be in the future."))
        return accepted


class ResellerChoiceForm(forms.Form):
    """Establish or change a customer's reseller relationship."""

    reseller = forms.ModelChoiceField(
        label=_("Indirect reseller"), queryset=Organization.objects.none(), empty_label=None
    )

    def __init__(self, *args, resellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = resellers
