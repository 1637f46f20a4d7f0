"""Fixtures of tests/customers/."""

from types import SimpleNamespace

import pytest

from tests.factories import (
    OfferFactory,
    partner_of,
)


@pytest.fixture
def partner(world):
    """R1, an active partner of P1."""
    partner_of(world.provider, world.reseller)
    return world.reseller


@pytest.fixture
def offers(db):
    return SimpleNamespace(
        basic=OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300),
        premium=OfferFactory(name="Business Premium", min_licenses=5, max_licenses=100),
        teams=OfferFactory(name="Teams Essentials", min_licenses=1, max_licenses=300),
    )


@pytest.fixture
def sales(world, client_for):
    return client_for(world.provider_sales)
