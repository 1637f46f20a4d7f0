"""App-level rate limits (ASVS 2.4.1 anti-automation), on allauth's limiter.

allauth already counts login, sign-up and password-reset attempts in the Django cache
(a sliding window of timestamps behind a cache lock). Our limits reuse that machinery,
with rates read from settings at request time:

- partnership_request: PARTNERSHIP_REQUESTS_PER_HOUR drafts, and as many emails, per
  provider organization;
- order_submit: ORDER_SUBMITS_PER_MINUTE order submits per user;
- token_link: TOKEN_LINK_ATTEMPTS_PER_MINUTE openings of a partnership or team
  invitation link per client IP address; invalid tokens count, so guessing is slow.

Over the limit the view answers 429 with templates/429.html. One switch turns every
limit off, allauth's and ours: ACCOUNT_RATE_LIMITS = False (env RATE_LIMITS=false).
"""

from functools import wraps

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.http import HttpRequest, HttpResponse


def enabled() -> bool:
    return settings.ACCOUNT_RATE_LIMITS is not False


def rates() -> dict[str, str]:
    """allauth's "amount/period/per" syntax; `key` is the organization for partnerships."""
    return {
        "partnership_draft": f"{settings.PARTNERSHIP_REQUESTS_PER_HOUR}/h/key",
        "partnership_request": f"{settings.PARTNERSHIP_REQUESTS_PER_HOUR}/h/key",
        "order_submit": f"{settings.ORDER_SUBMITS_PER_MINUTE}/m/user",
        "token_link": f"{settings.TOKEN_LINK_ATTEMPTS_PER_MINUTE}/m/ip",
    }


def consume_or_429(request: HttpRequest, action: str, key: str | None = None):
    """Count one attempt; the 429 response when over the limit, else None."""
    if not enabled():
        return None
    allowed = allauth_ratelimit.consume(
        request, app="portal", action=action, config=rates(), key=key, limit_get=True
    )
    return None if allowed else allauth_ratelimit.respond_429(request)


def limit(action: str):
    """View decorator for the token links: counted per client IP, every method."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return consume_or_429(request, action) or view(request, *args, **kwargs)

        return wrapper

    return decorate


class RateLimitedPostMixin:
    """Counts POSTs that would write (`counts()`), after the view's permission check.

    List it before the view's base classes; it wraps `post`, which runs after
    OrgView.dispatch has refused outsiders with 404.
    """

    rate_limit: str

    def rate_limit_key(self) -> str | None:
        # Used by "/key" rates: a provider's many users share one budget.
        org = getattr(self.request, "org", None)
        return f"org:{org.pk}" if org is not None else None

    def counts(self) -> bool:
        return True

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if self.counts():
            refused = consume_or_429(request, self.rate_limit, key=self.rate_limit_key())
            if refused:
                return refused
        return super().post(request, *args, **kwargs)


class RateLimitedWizardSubmitMixin(RateLimitedPostMixin):
    """Only the final Submit of a form wizard counts; Next, Back and Cancel do not."""

    def counts(self) -> bool:
        return (
            self.steps.current == self.steps.last
            and "wizard_goto_step" not in self.request.POST
            and "wizard_cancel" not in self.request.POST
        )
