"""Fixtures and helpers for the abuse, rate-limit and header tests (RELIABILITY.md section 5).

Rate-limit tests run on the real Redis (the broker's server, under a key prefix of their
own that is deleted afterwards) with the production cache backend, portal.cache.
"""

import uuid
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings as django_settings

from partners.services.partnerships import request_partnership
from portal.scoping import unscoped

CACHE_BACKEND = "portal.cache.FailOpenRedisCache"


@dataclass
class RedisCache:
    client: redis.Redis
    prefix: str

    def keys(self, pattern: str = "*") -> list[str]:
        return sorted(k.decode() for k in self.client.scan_iter(f"{self.prefix}:*{pattern}"))


@pytest.fixture
def redis_cache(settings):
    """The default cache on the real Redis, with a key prefix used by this test only."""
    url = django_settings.CELERY_BROKER_URL
    assert url.startswith("redis://"), "the abuse tests need Redis (CELERY_BROKER_URL)"
    prefix = f"abuse-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {"default": {"BACKEND": CACHE_BACKEND, "LOCATION": url, "KEY_PREFIX": prefix}}
    client = redis.Redis.from_url(url)
    yield RedisCache(client, prefix)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def rate_limits_on(settings, redis_cache):
    """allauth's default limits and ours, counted in Redis (tests/conftest.py turns them off)."""
    settings.ACCOUNT_RATE_LIMITS = {}
    return redis_cache


def drafts(provider, actor, count: int) -> list[tuple]:
    """`count` open partnership requests of `provider`, each with its token (no email yet)."""
    with unscoped("abuse test data"):
        return [
            request_partnership(
                provider=provider, actor=actor, email=f"prospect-{n}@reseller{n}.example"
            )
            for n in range(count)
        ]
