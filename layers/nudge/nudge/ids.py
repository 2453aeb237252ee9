"""Identifier generation: ULIDs for events, random hex for internal ids."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(at_ms: int | None = None, randomness: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time.
    ``randomness`` (80 bits) makes it reproducible: the same inputs, the same id."""
    ms = int(time.time() * 1000) if at_ms is None else at_ms
    bits = secrets.randbits(80) if randomness is None else randomness & ((1 << 80) - 1)
    value = (ms << 80) | bits
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def cio_id() -> str:
    """Internal person id, stable across changes of the person's id and email."""
    return secrets.token_hex(10)


def object_id() -> str:
    return secrets.token_hex(10)
