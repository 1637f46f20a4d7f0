from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from partners.models import Membership, partner_id_validator
from portal.forms import HiddenFieldsMixin


def country_choices():
    return [("", _("Select a country")), *countries]


class EnrollmentForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    partner_id = forms.CharField(
        label=_("Partner ID"),
        max_length=10,
        validators=[partner_id_validator],
        help_text=_(
            "Your program Partner ID, 6 to 10 digits. Portal staff verify it; until then "
            "it shows as unverified."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    country = LazyTypedChoiceField(label=_("Country"), choices=country_choices)
    contact_email = forms.EmailField(
        label=_("Contact email"),
        help_text=_("Where providers and the portal can reach your company."),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your company name."))
        return name

    def clean_partner_id(self) -> str:
        return self.cleaned_data["partner_id"].strip()


class InviteMemberForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.SALES_AGENT
    )


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class PartnershipRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Reseller's email address"),
        help_text=_("The address of the reseller's Admin, as used in the portal."),
    )
    contact_name = forms.CharField(
        label=_("Contact name"), max_length=200, required=False, help_text=_("Optional.")
    )


class PartnershipDraftForm(HiddenFieldsMixin, forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=100)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "true"}),
        max_length=10000,
        help_text=_(
            "You can edit the text, but keep the link: it is personalized for your account."
        ),
    )


class PartnershipResponseForm(forms.Form):
    """On the link page: which enrolled reseller accepts (when the user admins several)."""

    reseller = forms.ModelChoiceField(
        label=_("Accept as"), queryset=None, empty_label=None, required=False
    )

    def __init__(self, *args, resellers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = resellers
