"""Django's Redis cache, except that an unreachable Redis is a logged miss, not a 500.

The cache holds rate-limit counters and their locks (allauth's and portal.ratelimit), the
totals of huge lists (portal/pagination.py) and the Indirect resellers page's counts
(reseller_counts). With Django's own RedisCache a Redis outage makes every login and
most list pages answer 500. Here every operation fails open instead: reads miss (the lists
count in the database), writes are dropped and `add` succeeds, so people can still sign in
while Redis is down; each failure is logged. Failing closed would lock everyone out for
the length of the outage. The price: the limits are off during an outage, and the
resellers' counts may be up to LIST_COUNT_CACHE_SECONDS stale after one (a version bump
dropped while Redis was unreachable).

Why not django-redis with IGNORE_EXCEPTIONS: its `add` answers None on an outage, so
allauth's cache lock waits its full second and then refuses, and every login answers 429
(tried with django-redis 7.0). It would need the same override of `add` as here.

Only Django's documented cache API is used: the methods wrapped are the public ones
RedisCache defines, and the timeouts go through OPTIONS, which RedisCache passes to
redis-py's connection pool. tests/portal/test_cache.py fails if a Django upgrade adds a
method to RedisCache that is not wrapped here.
"""

import functools
import inspect
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What redis-py raises when the server is down, refuses, hangs or is still loading its
# data (BusyLoadingError is a ConnectionError). Anything else (a wrong password, a bad
# command) is a configuration error and is raised as usual.
OUTAGE = (RedisConnectionError, RedisTimeoutError)

# A hung Redis must not hang the request either: redis-py waits forever by default.
DEFAULT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def _fail_open(fallback):
    """Wrap one of RedisCache's methods: on an outage, log and answer `fallback`, or call
    it with the call's arguments by name (as the method's signature binds them)."""

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except OUTAGE as exc:
                logger.warning(
                    "cache unavailable, %s skipped (rate limits not enforced, counts read "
                    "from the database): %s",
                    method.__name__,
                    exc,
                )
                if not callable(fallback):
                    return fallback
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                return fallback(bound.arguments)

        wrapper.fails_open = True
        return wrapper

    return decorate


def _missing_key(arguments):
    # What incr() does about a missing key (the documented contract): raise ValueError.
    raise ValueError(f"Key {arguments['key']!r} not found.")


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        options = {**DEFAULT_OPTIONS, **(params.get("OPTIONS") or {})}
        super().__init__(server, {**params, "OPTIONS": options})

    # allauth's rate limiter locks with add() and refuses the request when it cannot get
    # the lock, so an outage must look like a lock taken.
    add = _fail_open(True)(RedisCache.add)
    get = _fail_open(lambda arguments: arguments["default"])(RedisCache.get)
    set = _fail_open(None)(RedisCache.set)
    touch = _fail_open(False)(RedisCache.touch)
    delete = _fail_open(False)(RedisCache.delete)
    get_many = _fail_open(lambda arguments: {})(RedisCache.get_many)
    has_key = _fail_open(False)(RedisCache.has_key)
    incr = _fail_open(_missing_key)(RedisCache.incr)
    # set_many answers the keys it failed to store: all of them.
    set_many = _fail_open(lambda arguments: list(arguments["data"]))(RedisCache.set_many)
    delete_many = _fail_open(None)(RedisCache.delete_many)
    clear = _fail_open(False)(RedisCache.clear)
