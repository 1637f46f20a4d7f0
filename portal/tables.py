import django_tables2 as tables


class PortalTable(tables.Table):
    """Base of every list table: our template, our classes, an empty state."""

    empty_text_default = ""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}
