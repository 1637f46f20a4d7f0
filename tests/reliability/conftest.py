"""Issue 7: isolation, tokens, abuse, bad input and faults. Run alone with `pytest -m reliability`.

Every test here is marked `reliability` by tests/conftest.py; tests that stop or kill a
real service are also marked `fault`. Fixtures specific to one area live in that area's
helper module (tests/reliability/_*.py) and are imported by its test files.
"""
