from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
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


class FastSelect(forms.Select):
    """A Select whose options are written here, not by a template include per option: the
    same HTML as Django's select.html, at a fraction of the cost (a filter of a few
    hundred resellers was a fifth of its page's time)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            html = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (option["value"], flatatt(option["attrs"]), option["label"])
                    for option in options
                ),
            )
            groups.append(
                format_html('<optgroup label="{}">{}</optgroup>', group_name, html)
                if group_name
                else html
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            format_html_join("", "{}", ((group,) for group in groups)),
        )
