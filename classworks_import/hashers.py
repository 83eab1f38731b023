"""The password hasher this project prefers: Argon2id at OWASP's minimum strength."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idOwaspHasher(Argon2PasswordHasher):
    """Argon2id with m=19 MiB, t=2, p=1 (OWASP's Password Storage Cheat Sheet minimum).

    Same algorithm name as Django's, so hashes made with Django's Argon2 parameters still verify
    and are re-hashed with these at the next sign-in.
    """

    memory_cost = 19_456  # KiB
    time_cost = 2
    parallelism = 1
