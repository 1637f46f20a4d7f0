"""A task that is not the portal's: what a tenant query inside a worker does (T1.6).

Imported by tests/reliability/conftest.py, so the suite's worker, started later, knows it.
"""

from celery import shared_task

from customers.models import Customer


@shared_task(name="tests.reliability.count_customers")
def count_customers() -> int:
    """A task body touching a tenant model without taking an organization first."""
    return Customer.objects.count()
