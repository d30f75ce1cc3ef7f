"""Password hashing with argon2id (argon2-cffi). Hashes carry their own parameters, so a hash made
with older (weaker) parameters still verifies and is replaced at the next successful login."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: argon2-cffi's defaults follow RFC 9106's second recommendation (argon2id, t=3, 64 MiB, p=4).
DEFAULT_HASHER = PasswordHasher()

_hasher: PasswordHasher = DEFAULT_HASHER
_dummy_hashes: dict[tuple[int, int, int, int, int], str] = {}


def hasher() -> PasswordHasher:
    return _hasher


def use_hasher(new_hasher: PasswordHasher) -> None:
    """Replace the hasher for this process (the tests use a cheap one: argon2 at production
    strength costs about half a second per hash on a small machine)."""
    global _hasher
    _hasher = new_hasher


def fast_test_hasher() -> PasswordHasher:
    """A deliberately weak hasher for test suites. Never use it for real passwords."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return bool(_hasher.check_needs_rehash(password_hash))
    except InvalidHashError:
        return True


def burn_verification(password: str) -> None:
    """Spend the time of one verification, for unknown users, so that response time does not
    reveal whether a username exists."""
    key = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism, _hasher.hash_len, _hasher.salt_len)
    dummy = _dummy_hashes.get(key)
    if dummy is None:
        dummy = _dummy_hashes[key] = _hasher.hash("ektp dummy password for timing")
    verify_password(dummy, password)
