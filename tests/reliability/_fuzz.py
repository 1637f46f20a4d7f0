"""Bad-input machinery for tests/reliability/test_bad_input*.py (T5.8, T4.7).

Hostile values, a strategy that spoils a valid payload a few fields at a time, the
per-example rollback, and the checks every response must pass: never a 500, a clear
message when the input is refused, nothing written then, and every payload escaped.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from partners.models import Organization
from portal.models import OutboundEmail, User
from tests.routes import snapshot as tenant_snapshot

# ------------------------------------------------------------------------------
# Profiles: `full` is the spec's 200 examples per form, for `pytest -m reliability`;
# `short` is 25 per form, for `make test` (the 200-example fuzz was 48 % of its time).
# tests/conftest.py picks one from the -m expression; HYPOTHESIS_PROFILE overrides it.
# No example database: the checkout must not grow a .hypothesis/ directory.
# ------------------------------------------------------------------------------
_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("full", max_examples=200, **_COMMON)
settings.register_profile("short", max_examples=25, **_COMMON)
FUZZ_SETTINGS = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "short"))
# List pages take GET parameters only, and the brief's named cases run first on each:
# half the examples of a form.
LIST_SETTINGS = settings(FUZZ_SETTINGS, max_examples=max(FUZZ_SETTINGS.max_examples // 2, 25))

# ------------------------------------------------------------------------------
# Hostile values
# ------------------------------------------------------------------------------
# Each HTML payload carries a marker that is only ever present in the body when the
# payload went out unescaped (the escaped form has &lt; / &quot; instead).
XSS = {
    '<script>alert("fz")</script>': "<script>alert(",
    '"><img src=x onerror=alert(1)>': "<img src=x onerror",
    "'><svg/onload=alert(1)>": "<svg/onload",
    "</textarea><b>fz</b>": "<b>fz</b>",
}
LONG = "A" * 10_000
HOSTILE = [
    *XSS,
    "'; DROP TABLE customers_customer;--",
    "' OR '1'='1",
    "1; SELECT pg_sleep(0)--",
    "{{ request }}{% debug %}",
    "%s%s%n%x",
    "\u202egnp.exe",  # right-to-left override
    "a\u200bb\u200c\u200d\ufeff",  # zero-width characters
    "e\u0301\u0302\u0303\u0304",  # stacked combining marks
    "\U0001f600\U0001f469\u200d\U0001f469\u200d\U0001f467",  # emoji and a ZWJ sequence
    "\x00",
    "1\x00",
    "a\x00b",
    LONG,
    "",
    " ",
    "\t\r\n",
    "-1",
    "0",
    "1.5",
    "abc",
    "1e3",
    str(10**12),
    str(10**30),
    str(-(10**30)),
    "NaN",
    "Infinity",
    "\uff11\uff12",  # full-width digits
    "\u0663",  # Arabic-Indic three
    "null",
    "[]",
    "javascript:alert(1)",
    '=HYPERLINK("http://evil.example","x")',
    "../../../etc/passwd",
    "2026-13-45",
    "x" * 300,
]
# Any text that UTF-8 can carry: lone surrogates (category Cs) cannot be encoded.
_ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HOSTILE_VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    _ANY_TEXT,
    st.integers(min_value=-(10**31), max_value=10**31).map(str),
    st.tuples(st.sampled_from(list(XSS)), _ANY_TEXT).map("".join),
)
DROP = object()  # "leave the field out of the POST"


def spoil(base: dict, *, extra: tuple[str, ...] = (), max_fields: int = 3):
    """A strategy of payloads: `base` (a valid submission) with up to `max_fields`
    of its fields (or of `extra`, e.g. a wizard's management field) replaced by a
    hostile value or dropped. Spoiling few fields at a time keeps many examples
    valid enough to reach the service and the success page too."""
    names = sorted(set(base) | set(extra))
    change = st.one_of(st.just(DROP), HOSTILE_VALUES)

    @st.composite
    def payload(draw):
        chosen = draw(st.sets(st.sampled_from(names), max_size=max_fields))
        data = dict(base)
        for name in sorted(chosen):
            value = draw(change)
            if value is DROP:
                data.pop(name, None)
            else:
                data[name] = value
        return data

    return payload()


# ------------------------------------------------------------------------------
# Per-example isolation
# ------------------------------------------------------------------------------
class _Rollback(Exception):
    pass


def rolled_back(fn: Callable) -> Callable:
    """Run one example inside a savepoint and undo it, like hypothesis.extra.django's
    TestCase does per example, so examples never see each other's rows."""

    def run(*args, **kwargs):
        try:
            with transaction.atomic():
                fn(*args, **kwargs)
                raise _Rollback
        except _Rollback:
            pass

    return run


def snapshot() -> dict:
    """Row counts of the tenant tables (tests/test_tenancy.py) plus the public ones."""
    return tenant_snapshot(Organization, User, OutboundEmail)


# ------------------------------------------------------------------------------
# Response checks
# ------------------------------------------------------------------------------
ERROR_MARKERS = ('class="errorlist', 'class="form-errors"', "message--error")


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def shows_error(body: str) -> bool:
    return any(marker in body for marker in ERROR_MARKERS)


def assert_escaped(body: str, sent) -> None:
    """No payload that was sent comes back as live markup: its marker only appears in
    the body when the payload was not escaped (escaped, `<` is `&lt;`)."""
    values = sent.values() if isinstance(sent, dict) else sent
    text = " ".join(str(v) for v in values)
    for marker in XSS.values():
        if marker in text:
            assert marker not in body, f"unescaped {marker!r} in the response"


@dataclass
class Tally:
    """What the examples did, for the report and to prove both paths ran."""

    counts: dict = field(default_factory=dict)

    def add(self, case: str, outcome: str) -> None:
        key = (case, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1

    def of(self, case: str, outcome: str) -> int:
        return self.counts.get((case, outcome), 0)
