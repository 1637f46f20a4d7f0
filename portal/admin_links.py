"""Links between related objects in the staff admin."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html


def linked(field: str, description: str | None = None):
    """A list_display column showing `field` as a link to that object's admin page."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj):
        target = getattr(obj, field)
        if target is None:
            return "—"
        meta = target._meta
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[target.pk])
        except NoReverseMatch:
            return str(target)
        return format_html('<a href="{}">{}</a>', url, target)

    column.__name__ = f"{field}_link"
    return column
