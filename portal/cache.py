"""Django's Redis cache, except that an unreachable Redis is a logged miss, not a 500.

The cache holds only rate-limit counters and their locks (allauth's and portal.ratelimit).
With Django's own RedisCache a Redis outage makes every login answer 500. Here the
limits fail open instead: reads miss, writes are dropped and `add` (allauth's lock)
succeeds, so people can still sign in while Redis is down; each failure is logged.
Failing closed would lock everyone out for the length of the outage.
"""

import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError)


def _fail_open(method, fallback):
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OUTAGE as exc:
            logger.warning(
                "cache unavailable, %s skipped (rate limits not enforced): %s", method.__name__, exc
            )
            return fallback(*args) if callable(fallback) else fallback

    wrapper.__name__ = method.__name__
    return wrapper


def _missing_key(key, *args):
    raise ValueError(f"Key {key!r} not found.")  # what incr() says about a missing key


class FailOpenRedisCacheClient(RedisCacheClient):
    add = _fail_open(RedisCacheClient.add, True)
    get = _fail_open(RedisCacheClient.get, lambda key, default: default)
    set = _fail_open(RedisCacheClient.set, None)
    touch = _fail_open(RedisCacheClient.touch, False)
    delete = _fail_open(RedisCacheClient.delete, False)
    get_many = _fail_open(RedisCacheClient.get_many, lambda keys: {})
    has_key = _fail_open(RedisCacheClient.has_key, False)
    incr = _fail_open(RedisCacheClient.incr, _missing_key)
    set_many = _fail_open(RedisCacheClient.set_many, None)
    delete_many = _fail_open(RedisCacheClient.delete_many, None)
    clear = _fail_open(RedisCacheClient.clear, False)


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient
        # A hung Redis must not hang the request either.
        self._options = {"socket_connect_timeout": 1, "socket_timeout": 1, **self._options}
