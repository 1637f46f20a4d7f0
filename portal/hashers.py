"""Password hashing: Argon2id at OWASP's minimum cost.

Django's own Argon2 defaults (m = 100 MiB, t = 2, p = 8) cost about 0.17 s of CPU per
hash on our 2-core machines and 100 MiB of memory per concurrent login; PBKDF2 at
Django's 1.5 M iterations cost 0.34 s. OWASP's Password Storage Cheat Sheet gives
m = 19 MiB, t = 2, p = 1 as the minimum for Argon2id: memory-hard, so a GPU farm gains
far less against it than against PBKDF2, at a twentieth of the CPU per login
(docs/performance.md has the figures). Raise the settings below, never lower them:
Django re-hashes a password at its next login when they change.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    # Same algorithm name ("argon2") as Django's: hashes stay readable by either class,
    # and must_update() upgrades any whose parameters differ from these.
    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
