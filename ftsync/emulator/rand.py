"""Deterministic pseudo-randomness addressed by key, not by sequence.

The emulator derives every value (ids, metric noise, example text) from a seed plus the
coordinates of what it describes, so step 1,537 of job 812 can be computed without computing
steps 1..1,536 first. That is what lets a 1,000-job, 2,000-step workspace start instantly.
"""

from __future__ import annotations

import hashlib

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MASK64 = (1 << 64) - 1


def mix(*parts: object) -> int:
    """A 64-bit hash of the parts (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def unit(key: int, index: int = 0) -> float:
    """A float in [0, 1) for (key, index); cheap enough to call once per metric per step."""
    return _splitmix(key ^ ((index * 0xD1B54A32D192ED03) & _MASK64)) / 2.0**64


_TO_ALNUM = bytes(ord(_ALNUM[b % len(_ALNUM)]) for b in range(256))


def ident(length: int, *parts: object) -> str:
    """`length` alphanumerics derived from the parts, as in OpenAI ids."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=length).digest()
    return digest.translate(_TO_ALNUM).decode()


def choice(seq: list, key: int, index: int = 0):
    return seq[int(unit(key, index) * len(seq))]
