from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when it names one, else
    at the top. Services raise; views call this and re-render the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


STALE_PAGE = _(
    "This page was out of date or incomplete, so nothing was saved. Reload it and try again."
)


class HiddenFieldsMixin:
    """Hidden inputs are the page's, not the person's: one that is missing or wrong means
    a stale page or a hand-made request. Say so once, at the top of the form, rather than
    "This field is required." beside nothing visible."""

    def _post_clean(self):
        super()._post_clean()
        broken = [name for name in self._errors if name in self.fields and self[name].is_hidden]
        for name in broken:
            del self._errors[name]
        if broken:
            self.add_error(None, STALE_PAGE)
