"""Secret links: high-entropy tokens handed out once and stored only as a hash."""

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits of randomness


def new_token() -> tuple[str, str]:
    """Return (token for the link, digest to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    # A plain SHA-256 is enough: the input already has 256 bits of entropy, so there
    # is nothing to brute-force, and a leaked table of digests opens no link.
    return hashlib.sha256(token.encode()).hexdigest()
