"""The forms of an HTML page as a browser would submit them: for the load test (locust)
and the benchmarks, which drive the portal through its pages rather than its services."""

from html.parser import HTMLParser


class _Forms(HTMLParser):
    """The forms of a page: action and the values a browser would submit (no buttons)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}, "options": {}})
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            form["fields"][name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            form["options"][name] = []
        elif tag == "option" and self._select:
            value = a.get("value", "")
            form["options"][self._select].append(value)
            if "selected" in a or self._select not in form["fields"]:
                form["fields"][self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            form["fields"][name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def post_form(html: str, field: str) -> dict:
    """The page's form with a field named `field` (or ending in "-<field>"): the header's
    logout and language forms carry a CSRF token too, so the token cannot identify it."""
    for form in forms_of(html):
        if any(name == field or name.endswith(f"-{field}") for name in form["fields"]):
            return form
    raise LookupError(f"no form with a {field} field")
