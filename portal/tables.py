from functools import cached_property
from itertools import count

import django_tables2 as tables
import django_tables2.export
from django.core.paginator import Paginator
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.utils import A, AttributeDict, signature

from portal.pagination import TablePaginator

# A page holds at most this many rows, whatever ?per_page= asks for: a huge value would
# load a whole tenant table into one response, and zero or less breaks the paginator.
MAX_PER_PAGE = 100


class LeanTemplateColumn(tables.TemplateColumn):
    """A TemplateColumn whose cell renders into the page's own context, as {% include %}
    does. Upstream flattens the whole page context into a dict and renders it as a new
    RequestContext (every context processor again) for each cell of each row."""

    def render(self, record, table, value, bound_column, **kwargs):
        parent = getattr(table, "context", None)
        if parent is None or self.template_code:
            return super().render(record, table, value, bound_column, **kwargs)
        extra = self.get_context_data(
            record=record, table=table, value=value, bound_column=bound_column, **kwargs
        )
        with parent.update(extra):
            return self._template.render(parent)

    @cached_property
    def _template(self):
        return get_template(self.template_name).template


class LeanRow(BoundRow):
    """A row whose cells come from the table's cell plans (`PortalTable.cell_plans`):
    what tables2 works out again for every cell (render signatures, attributes, choice
    display lookups) is worked out once per page."""

    @property
    def lean_cells(self):
        return [(plan.td(self), plan.content(self)) for plan in self._table.cell_plans]


class LeanRows(BoundRows):
    def __iter__(self):
        for record in self.data:
            yield LeanRow(record, table=self.table)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return LeanRows(data=self.data[key], table=self.table)
        return LeanRow(record=self.data[key], table=self.table)


class CellPlan:
    """How one column's cells are rendered, decided once per table: tables2's own
    BoundRow.get_cell logic, minus the per-cell introspection."""

    def __init__(self, table, bound_column):
        self.bound_column = bound_column
        self.column = column = bound_column.column
        self.name = bound_column.name
        self.accessor = A(bound_column.accessor)
        self.default = bound_column.default
        self.empty_values = column.empty_values
        self.render = bound_column.render
        self.args, self.catch_all = signature(self.render)
        self.link = bound_column.link
        self.localize = column.localize
        # Columns tables2 treats specially keep its own path.
        self.slow = isinstance(column, (BaseLinkColumn, ManyToManyColumn))
        field = self.accessor.get_field(table._meta.model) if table._meta.model else None
        choices = bool(getattr(field, "choices", None))
        self.display = choices and "__" not in self.accessor
        self.slow = self.slow or (choices and not self.display)
        attrs = dict(table.attrs)
        attrs.update(dict(column.attrs))
        td = attrs.get("td", attrs.get("cell", {}))
        self.dynamic_td = any(callable(v) for v in td.values())
        self.static_td = None if self.dynamic_td else bound_column.attrs["td"].as_html()

    def td(self, row) -> str:
        if not self.dynamic_td:
            return self.static_td
        self.bound_column.current_record = row.record
        self.bound_column.current_value = None
        return AttributeDict(self.bound_column.attrs["td"]).as_html()

    def content(self, row):
        if self.slow:
            return self._localized(row.get_cell(self.name))
        record = row.record
        if self.display:
            value = getattr(record, f"get_{self.accessor}_display")()
        else:
            try:
                value = self.accessor.resolve(record)
            except Exception:  # as tables2: a column not backed by a field
                value = None
        if value in self.empty_values:
            return self._localized(self.default)
        optional = {
            "value": value,
            "record": record,
            "column": self.column,
            "bound_column": self.bound_column,
            "bound_row": row,
            "table": row.table,
        }
        if self.catch_all:
            content = self.render(**optional)
        elif all(arg in optional for arg in self.args):
            content = self.render(**{arg: optional[arg] for arg in self.args})
        else:
            content = None
        if self.link:
            content = self.link(content, **optional)
        return self._localized(content)

    def _localized(self, content):
        if self.localize is None:
            return content
        return conditional_escape(localize(content, use_l10n=self.localize))


class PortalTable(tables.Table):
    """Base of every list table: our template, our classes, an empty state, and lean
    rows (`LeanRow`): the same cells as tables2's, at about half the cost."""

    empty_text_default = ""
    row_class = LeanRow

    def __init__(self, *args, **kwargs):
        self._counter = count()  # tables2 sets it last; a request= paginates before that
        super().__init__(*args, **kwargs)
        self.rows = LeanRows(data=self.data, table=self)

    @cached_property
    def cell_plans(self) -> list[CellPlan]:
        return [CellPlan(self, column) for column in self.columns]

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
