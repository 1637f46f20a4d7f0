"""Issue 7: isolation, tokens, abuse, bad input and faults. Run alone with `pytest -m reliability`.

Every test here is marked `reliability` by tests/conftest.py; tests that stop or kill a
real service are also marked `fault`. Fixtures specific to one area live in that area's
helper module (tests/reliability/_*.py) and are registered below.
"""

# The areas' fixtures, shared by every test here (pytest finds fixtures in conftest).
from tests.reliability import _tasks  # noqa: F401  (registers the test-only task)
from tests.reliability._abuse import rate_limits_on, redis_cache  # noqa: F401
from tests.reliability._bad_input import fz  # noqa: F401
from tests.reliability._faults import fault_redis  # noqa: F401
from tests.reliability._isolation import t1  # noqa: F401
from tests.reliability._orders import shop  # noqa: F401
