"""`{% lean_table table %}`: tables2's `{% render_table %}` for our tables, rendered into
the page's own context the way `{% include %}` is. Upstream renders the table template as
a new RequestContext, so every context processor runs again for each table of a page."""

from django import template
from django.template.loader import get_template

register = template.Library()


@register.simple_tag(takes_context=True)
def lean_table(context, table):
    table.context = context  # what TemplateColumn cells render into, as upstream
    compiled = get_template(table.template_name).template
    with context.push(table=table):
        return compiled.render(context)
