import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x9_production-like-secret-key-with-enough-entropy-0123456789abcdefghij",
    "ALLOWED_HOSTS": "portal.example.com",
    "EMAIL_URL": "smtp://mail.example.com:587",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def _manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "EMAIL_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.reliability
def test_check_deploy_is_clean_with_production_settings():
    """T5.6: HSTS, secure cookies, SSL redirect, DEBUG, SECRET_KEY and ALLOWED_HOSTS."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false." in result.stderr


@pytest.mark.reliability
def test_a_redis_cache_url_gets_the_fail_open_backend():
    """Rate-limit counters in Redis; a Redis outage must not 500 the login (portal/cache.py)."""
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    env = {**PRODUCTION, "CACHE_URL": "redis://redis.example:6379/1"}
    result = _manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "portal.cache.FailOpenRedisCache"
