"""Writes and checks about a person's addresses: mailbox proofs, and the customer
sign-in accounts that never act for a partner organization (portal/sign_in_domain.py).

Shared by the team, organization and partnership services.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from partners.models import MailboxProof
from partners.selectors import proven_addresses
from portal.models import User
from portal.sign_in_domain import is_customer_sign_in_account, is_customer_sign_in_address


def refuse_customer_sign_in_account(user: User, message: str) -> None:
    """Customers' admin accounts sign in on the portal's own domain (portal/sign_in_domain.py):
    nobody proved they hold a mailbox, so they never act for a partner organization."""
    if is_customer_sign_in_account(user):
        raise ValidationError(message % {"email": user.email}, code="customer_account")


def refuse_customer_sign_in_address(email: str, message: str) -> None:
    """No invitation or request goes to a customer sign-in address: it receives no mail,
    and its account could not answer."""
    if is_customer_sign_in_address(email):
        raise ValidationError(message % {"email": email}, code="customer_address")


CUSTOMER_ADDRESS_CANNOT_JOIN = gettext_lazy(
    "%(email)s is a customer's sign-in account made by the portal. It receives no email and "
    "can't join an organization."
)


@transaction.atomic
def record_mailbox_proof(*, email_address: EmailAddress, method: str) -> MailboxProof:
    """Note that the owner of `email_address` proved they read its mail (see MailboxProof).

    No activity entry: the proof belongs to a person, who may be in no organization yet.
    """
    proof, _created = MailboxProof.objects.update_or_create(
        email_address=email_address, defaults={"method": method, "proven_at": timezone.now()}
    )
    return proof


@transaction.atomic
def forget_unproven_credentials(*, user: User) -> None:
    """A sign-in code just proved an address nobody had proved before, in a session that
    never gave the password: whoever chose that password (and any two-factor device) may
    not be the mailbox's owner, e.g. someone who signed up with another person's address
    and waits for its owner to prove it. Both stop working; the owner chooses anew."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Authenticator.objects.filter(user=user).delete()


def check_holds_mailbox(*, user: User, email: str, wrong_user: str, unproven: str) -> None:
    """Refuse unless `user` proved, with a code the portal emailed, that `email` is theirs.

    Whoever could read or regenerate a link (the sender, their colleagues) must never be
    able to answer it: opening a link proves nothing, only the emailed code does.
    """
    addresses = user.emailaddress_set.filter(email__iexact=email, verified=True)
    if not addresses.exists():
        raise ValidationError(wrong_user, code="wrong_user")
    if not proven_addresses(user=user).filter(email__iexact=email).exists():
        raise ValidationError(unproven, code="unproven_address")
