import html
from functools import cached_property
from itertools import count

import django_tables2 as tables
import django_tables2.export
from django.core.paginator import Paginator
from django.template.defaultfilters import date as date_filter
from django.template.loader import get_template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.http import urlencode
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.utils import A, AttributeDict, signature

from portal.pagination import TablePaginator

# A page holds at most this many rows, whatever ?per_page= asks for: a huge value would
# load a whole tenant table into one response, and zero or less breaks the paginator.
MAX_PER_PAGE = 100


class _FilteredDate:
    """tables2's date columns (isoformat in exports), rendered by the date filter itself:
    upstream they are TemplateColumns compiling `{{ value|date:... }}` for every cell."""

    formats = ("SHORT_DATE_FORMAT", "DATE_FORMAT")  # (short, long)

    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format, short, *args, **kwargs)
        self.date_format = format or self.formats[0 if short else 1]

    def render(self, value):
        return date_filter(template_localtime(value), self.date_format) or self.default


class DateColumn(_FilteredDate, tables.DateColumn):
    pass


class DateTimeColumn(_FilteredDate, tables.DateTimeColumn):
    formats = ("SHORT_DATETIME_FORMAT", "DATETIME_FORMAT")


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

    @property
    def html(self):
        """The whole <tr>, as tables2's template loop writes it, in one piece."""
        # Every piece is already safe: attributes from as_html(), contents escaped by
        # CellPlan, so joining them needs no escaping pass per cell.
        cells = "".join(f"<td {td}>{content}</td>" for td, content in self.lean_cells)
        return mark_safe(f"<tr {self.attrs.as_html()}>{cells}</tr>")  # noqa: S308

    @property
    def attrs(self):
        """tables2's row attributes (Meta.row_attrs, then odd/even), with each callable's
        signature read once per table instead of once per row."""
        table, record = self._table, self._record
        attrs = {}
        for name, value in table.row_attr_plans:
            attrs[name] = value(table=table, record=record) if isinstance(value, _Call) else value
        parity = self.get_even_odd_css_class()
        attrs["class"] = f"{attrs['class']} {parity}" if attrs.get("class") else parity
        return AttributeDict(attrs)


class _Call:
    """A callable and its signature, read once: called with the arguments it takes, as
    tables2's call_with_appropriate does on every call."""

    def __init__(self, fn):
        self.fn = fn
        self.args, self.catch_all = signature(fn)

    def __call__(self, **available):
        if self.catch_all:
            return self.fn(**available)
        if any(arg not in available for arg in self.args):
            return None
        return self.fn(**{arg: available[arg] for arg in self.args})


# A primary key no row has: object_url reverses with it, then puts the row's pk in.
_PK = 987654321987654321


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
        # The rows' own model, as tables2 reads the field from each record: Meta.model is
        # optional, and without it a choice (a pending invitation's role) showed its value.
        model = getattr(table.data, "model", None) or table._meta.model
        field = self.accessor.get_field(model) if model else None
        choices = bool(getattr(field, "choices", None))
        self.display = choices and "__" not in self.accessor
        # Columns tables2 treats specially, and choices across a relation, keep its path.
        special = isinstance(column, (BaseLinkColumn, ManyToManyColumn))
        self.slow = special or (choices and not self.display)
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
        # What the template's {{ cell }} (or |localize, |unlocalize) did: local time,
        # localized numbers and dates, escaped unless already safe. Text, the common
        # case, is escaped directly (django.utils.html.escape, minus its lazy wrapper).
        if isinstance(content, SafeData):
            return content
        if type(content) is str:
            return SafeString(html.escape(content))
        if self.localize is None:
            return conditional_escape(localize(template_localtime(content)))
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

    @cached_property
    def header_cells(self) -> list[dict]:
        """The column headers (templates/tables/table.html), worked out once: tables2's
        template recomputes each column's attributes, ordering and link on every use."""
        params = dict(self.request.GET) if getattr(self, "request", None) else {}
        cells = []
        for column in self.columns:
            cell = {"attrs": column.attrs["th"].as_html(), "header": column.header}
            if column.orderable:
                query = {**params, self.prefixed_order_by_field: str(column.order_by_alias.next)}
                cell["href"] = "?" + urlencode(query, doseq=True)
                if column.is_ordered:
                    descending = column.order_by_alias.is_descending
                    cell["sort"] = "descending" if descending else "ascending"
            cells.append(cell)
        return cells

    @cached_property
    def row_attr_plans(self) -> list[tuple]:
        return [
            (name, _Call(value) if callable(value) else value)
            for name, value in self.row_attrs.items()
        ]

    def object_url(self, name: str, pk: int, **kwargs) -> str:
        """reverse(name, org_slug=this organization, pk=pk, **kwargs), resolved once per
        table and name: the URL resolver costs more than the rest of a cell."""
        key = (name, *sorted(kwargs.items()))
        pattern = self._url_patterns.get(key)
        if pattern is None:
            pattern = reverse(name, kwargs={"org_slug": self.request.org.slug, "pk": _PK, **kwargs})
            self._url_patterns[key] = pattern
        return pattern.replace(str(_PK), str(pk))

    @cached_property
    def _url_patterns(self) -> dict:
        return {}

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
            request = getattr(self, "request", None)
            if request is not None and request.GET.get(self.prefixed_page_field) == "last":
                page = "last"  # RequestConfig drops what int() refuses
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
