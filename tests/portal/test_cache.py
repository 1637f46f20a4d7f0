"""portal/cache.py: every operation of the Redis cache fails open on an outage."""

import asyncio
import inspect
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache.backends.redis import RedisCache

from portal.cache import FailOpenRedisCache

pytestmark = pytest.mark.reliability


def _cache_at(port: int, **options) -> FailOpenRedisCache:
    return FailOpenRedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": options})


def test_every_method_of_djangos_redis_cache_is_wrapped():
    """A Django upgrade that adds a method to RedisCache fails here, not in an outage."""
    own = {
        name
        for name, member in vars(RedisCache).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    own.discard("get_backend_timeout")  # arithmetic, no Redis
    assert own, "RedisCache's methods moved: review portal/cache.py"
    unwrapped = {name for name in own if not getattr(FailOpenRedisCache, name, None).fails_open}
    assert unwrapped == set()


def test_an_unreachable_redis_is_a_logged_miss(closed_port, caplog):
    cache = _cache_at(closed_port)
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get("k", default=[]) == []
        assert cache.add("lock", True, timeout=10) is True  # allauth's lock: taken
        assert cache.set("k", 1) is None
        assert cache.touch("k") is False
        assert cache.delete("k") is False
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("k") is False
        with pytest.raises(ValueError, match="not found"):
            cache.incr("k")
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # the keys not stored
        assert cache.delete_many(["a", "b"]) is None
        assert cache.clear() is False
        assert cache.get_or_set("k", 7) == 7
        with ThreadPoolExecutor(1) as pool:  # a thread of its own: no event loop running
            assert pool.submit(asyncio.run, cache.aget("k", "async")).result() == "async"
    assert "cache unavailable, get skipped" in caplog.text


def test_a_hung_redis_is_a_miss_after_the_socket_timeout():
    """A server that accepts connections and never answers: without a socket timeout
    redis-py would wait forever and hang the request."""
    pool = ThreadPoolExecutor(1)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(8)  # the kernel completes the handshake; nobody ever reads
            cache = _cache_at(server.getsockname()[1])
            answer = pool.submit(cache.get, "k", "fallback")
            assert answer.result(timeout=15) == "fallback"
    finally:
        pool.shutdown()  # the server is closed: a read still waiting gets a reset
