import pytest

from partners.models import AuditEvent, TeamInvitation
from portal.scoping import ScopeError, org_scope, unscoped
from tests.factories import ProviderFactory


def _invite(org, email):
    return TeamInvitation.objects.create(
        organization=org,
        email=email,
        role="admin",
        token_digest=email.ljust(64, "0")[:64],
        expires_at=TeamInvitation.default_expiry(),
    )


@pytest.mark.django_db
def test_tenant_models_raise_when_queried_outside_a_scope():
    for model in (TeamInvitation, AuditEvent):
        with pytest.raises(ScopeError):
            model.objects.all()


@pytest.mark.django_db
def test_a_scope_shows_only_its_own_organizations_rows():
    p1, p2 = ProviderFactory(), ProviderFactory()
    with unscoped("test setup"):
        mine = _invite(p1, "a@example.test")
        _invite(p2, "b@example.test")
    with org_scope(p1):
        assert list(TeamInvitation.objects.all()) == [mine]
        assert TeamInvitation.objects.filter(email="b@example.test").count() == 0
    with unscoped("test"):
        assert TeamInvitation.objects.count() == 2


@pytest.mark.django_db
def test_scope_ends_with_its_block_even_on_error():
    p1 = ProviderFactory()
    with pytest.raises(ZeroDivisionError), org_scope(p1):
        1 / 0  # noqa: B018
    with pytest.raises(ScopeError):
        TeamInvitation.objects.count()


def test_scopes_refuse_a_missing_tenant_or_reason():
    with pytest.raises(ScopeError), org_scope(None):
        pass
    with pytest.raises(ValueError, match="reason"), unscoped(""):
        pass


@pytest.mark.django_db
def test_every_tenant_model_is_guarded_or_explicitly_global():
    """A new model must either use ScopedManager or be listed here as global on purpose."""
    from django.apps import apps

    from portal.scoping import ScopedManager

    global_models = {
        "portal.User",  # people span organizations
        "portal.OutboundEmail",  # only the outbox task reads it, by id
        "partners.Organization",  # what scopes are resolved from
        "partners.Membership",  # idem
        "partners.MailboxProof",  # a person's, read by user and address (issue 14)
        "subscriptions.Offer",  # the catalog is the same for everyone
    }
    for model in apps.get_models():
        if model._meta.app_label not in {"portal", "partners", "customers", "subscriptions"}:
            continue
        label = model._meta.label
        if label in global_models:
            continue
        assert isinstance(model._default_manager, ScopedManager), f"{label} is not scoped"
        with pytest.raises(ScopeError):
            model._default_manager.all()
