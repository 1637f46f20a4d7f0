"""Pages of tables that may hold a million rows, at the cost of a table of a thousand.

Django's Paginator counts every row on every request (COUNT(*) over the whole filtered
set) and reaches page n with OFFSET (n - 1) x per_page, so the last page of a million
rows reads a million rows. `TablePaginator` instead:

- counts exactly only up to `LIST_EXACT_COUNT_LIMIT` rows (a COUNT over a LIMIT); past
  that the total is counted once and kept in the cache for `LIST_COUNT_CACHE_SECONDS`
  (the key is the query's SQL, tenant ids included), and while it is there the cache
  answers without a query, so the page numbers of a huge list may be a few minutes
  behind;
- reads the back half of a long list backwards (the reversed ordering, a short OFFSET
  from the end), so the last page costs what the first does;
- orders by the primary key after the table's own ordering, so pages never overlap or
  skip rows with equal names, and the backward read is the exact mirror.

Pages in the middle of a huge list still cost an OFFSET of up to half the list.
"""

import hashlib
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django_tables2.rows import BoundRow


class TablePaginator(Paginator):
    """A Paginator over a tables2 table's rows (BoundRows) backed by a QuerySet."""

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.table = object_list.table

    @cached_property
    def queryset(self) -> QuerySet:
        queryset = self.object_list.data.data
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        if not any(str(field).lstrip("-") in ("pk", "id") for field in ordering):
            # A total order, so equal names never straddle two pages; in the direction
            # of the last key, so one index (..., name, id) serves both directions.
            ordering.append("-pk" if str(ordering[-1]).startswith("-") else "pk")
        return queryset.order_by(*ordering)

    @cached_property
    def count(self) -> int:
        limit = settings.LIST_EXACT_COUNT_LIMIT
        # Only the ids (annotations would be computed for every row counted), in the
        # table's `count_order_by` if it has one: an order an index can deliver keeps
        # the bounded count on that index when one tenant owns most of the rows.
        counting = self.queryset.order_by(*getattr(self.table, "count_order_by", ())).values("pk")
        key = _cache_key(counting)
        cached = cache.get(key) if key else None
        if cached is not None:  # a huge list, counted in the last few minutes
            return cached
        bounded = counting[: limit + 1].count()
        if bounded <= limit:
            return bounded
        total = counting.count()
        if key:
            cache.set(key, total, settings.LIST_COUNT_CACHE_SECONDS)
        return total

    def validate_number(self, number):
        if number == "last":  # as Django's ListView: ?page=last
            number = self.num_pages
        return super().validate_number(number)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom > self.count // 2:
            # The back half, read backwards from the end: the last page costs an OFFSET
            # of zero instead of the whole list.
            from_end = self.count - top
            records = list(self.queryset.reverse()[from_end : from_end + (top - bottom)])
            records.reverse()
        else:
            records = list(self.queryset[bottom:top])
        row = getattr(self.table, "row_class", BoundRow)
        rows = [row(record, table=self.table) for record in records]
        return self._get_page(rows, number, self)


def _cache_key(queryset: QuerySet) -> str | None:
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    digest = hashlib.sha256(f"{sql}\x00{params!r}".encode()).hexdigest()
    return f"table-count:{digest}"
