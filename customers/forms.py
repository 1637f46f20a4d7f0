from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries.fields import LazyTypedChoiceField

from customers.models import domain_validator, sign_in_prefix_validator
from customers.selectors import domain_in_use, sign_in_prefix_in_use
from customers.services import domain_taken_message, sign_in_prefix_taken_message
from partners.forms import country_choices
from partners.models import Organization


class CustomerAccountForm(forms.Form):
    """The customer's account information (New customer step 1, and the Account tab)."""

    company_name = forms.CharField(label=_("Company name"), max_length=200)
    domain = forms.CharField(
        label=_("Primary domain"),
        max_length=253,
        help_text=_("The customer's own domain, e.g. contoso.com."),
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

    sign_in_prefix = forms.CharField(
        label=_("Sign-in domain"),
        max_length=63 + 1 + 253,  # the whole sign-in domain may be typed; cleaned to the prefix
        required=False,
        template_name="customers/sign_in_prefix_field.html",
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    # The order the page shows them in (the template lays the fields out by name): the
    # sign-in domain right after the primary domain it is prefilled from.
    field_order = ["company_name", "domain", "sign_in_prefix"]

    def __init__(self, *args, provider: Organization, resellers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.fields["reseller"].queryset = (
            resellers if resellers is not None else (Organization.objects.none())
        )
        self.fields["sign_in_prefix"].help_text = _(
            "The customer's admin account signs in as admin@<sign-in domain>. It must be "
            "unique in the portal and can't be changed later. Left empty, it is the first "
            "part of the primary domain."
        )
        self.sign_in_suffix = f".{settings.CUSTOMER_SIGN_IN_DOMAIN}"
        # static/js/sign-in-prefix.js fills it in from the primary domain as it is typed.
        self.fields["sign_in_prefix"].widget.attrs["data-prefix-from"] = self["domain"].auto_id

    def clean_domain(self) -> str:
        # Checked here too (not only at Submit), so the person learns it on this step.
        # Only this provider's customers count: the domain is contact information.
        domain = super().clean_domain()
        if domain_in_use(provider=self.provider, domain=domain):
            raise forms.ValidationError(domain_taken_message(domain))
        return domain

    def clean_sign_in_prefix(self) -> str:
        prefix = self.cleaned_data["sign_in_prefix"].strip().lower().rstrip(".")
        # "contoso.portal.example" typed in full is the same as "contoso".
        prefix = prefix.removesuffix(self.sign_in_suffix)
        if prefix:
            sign_in_prefix_validator(prefix)
        return prefix

    def clean(self):
        cleaned = super().clean()
        prefix = cleaned.get("sign_in_prefix")
        if prefix == "" and cleaned.get("domain"):
            # Prefilled from the customer's domain: contoso.com → contoso.
            prefix = cleaned["domain"].split(".", 1)[0]
        if prefix:
            cleaned["sign_in_prefix"] = prefix
            # Checked on this step (and again at Submit, by the service, under a lock).
            if sign_in_prefix_in_use(prefix=prefix):
                self.add_error("sign_in_prefix", sign_in_prefix_taken_message(prefix))
        return cleaned

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
