import django_tables2 as tables
import django_tables2.export
from django.core.paginator import Paginator
from django_tables2.data import TableQuerysetData

from portal.pagination import TablePaginator

# A page holds at most this many rows, whatever ?per_page= asks for: a huge value would
# load a whole tenant table into one response, and zero or less breaks the paginator.
MAX_PER_PAGE = 100


class PortalTable(tables.Table):
    """Base of every list table: our template, our classes, an empty state."""

    empty_text_default = ""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}

    @property
    def order_by(self):
        return self._order_by

    @order_by.setter
    def order_by(self, value):
        # Keep only names of our columns before tables2 parses them: ?sort= is anyone's
        # to type, and tables2 warns (an error under tests) on a stray "." in a name.
        if isinstance(value, str):
            value = value.split(",")
        known = [v for v in value or () if str(v).removeprefix("-") in self.columns]
        tables.Table.order_by.fset(self, known)

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        per_page = min(max(per_page or self._meta.per_page, 1), MAX_PER_PAGE)
        if paginator_class is Paginator and isinstance(self.data, TableQuerysetData):
            paginator_class = TablePaginator  # bounded counts, last page read backwards
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)

    def as_values(self, exclude_columns=None):
        # Exports open in spreadsheets, where a cell starting with = + - @ runs as a
        # formula (OWASP "CSV injection"): such text gets a leading apostrophe.
        rows = super().as_values(exclude_columns=exclude_columns)
        yield next(rows)
        for row in rows:
            yield [_inert(value) for value in row]


def _inert(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


class ExportMixin(tables.export.ExportMixin):
    """tables2's export, limited to the formats the page offers (`export_formats`):
    upstream tries any format tablib knows, and one without its package installed
    (?_export=xlsx) is a 500."""

    export_formats = ("csv",)

    def render_to_response(self, context, **kwargs):
        if self.request.GET.get(self.export_trigger_param) not in self.export_formats:
            return super(tables.export.ExportMixin, self).render_to_response(context, **kwargs)
        return super().render_to_response(context, **kwargs)
