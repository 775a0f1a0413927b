"""`LineIndex`: a line's hash -> the first line number it was seen on, in little memory.

Duplicate and validation-overlap checks remember every distinct example of a file. A dict costs
~110 bytes an entry (its slot, plus an int object for the hash and one for the line number); this
open-addressing table is two flat arrays of 12 bytes a slot, at most half full: 24-48 bytes an entry.
A million distinct examples take 25-50 MB instead of ~110 MB, for ~1 µs more per example.
"""

from __future__ import annotations

from array import array


class LineIndex:
    """hash -> first line number (1-based; 0 marks an empty slot), with linear probing."""

    def __init__(self, capacity: int = 1024):  # a power of two, so `key & mask` picks a slot
        self._reset(capacity)

    def _reset(self, capacity: int) -> None:
        self._keys = array("q", bytes(8 * capacity))
        self._lines = array("I", bytes(4 * capacity))
        self._mask = capacity - 1
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def __contains__(self, key: int) -> bool:
        return self._lines[self._slot(key)] != 0

    def get(self, key: int) -> int | None:
        """The first line stored for `key`, or None."""
        return self._lines[self._slot(key)] or None

    def setdefault(self, key: int, line: int) -> int:
        """The first line stored for `key`; stores `line` (at least 1) when there is none."""
        keys, lines, mask = self._keys, self._lines, self._mask
        i = key & mask
        while lines[i]:  # the probe of _slot, inlined: this runs once per example
            if keys[i] == key:
                return lines[i]
            i = (i + 1) & mask
        keys[i], lines[i] = key, line
        self._used += 1
        if 2 * self._used > len(lines):
            self._grow()
        return line

    def _slot(self, key: int) -> int:
        """The slot holding `key`, or the empty one where it would go."""
        keys, lines, mask = self._keys, self._lines, self._mask
        i = key & mask
        while lines[i] and keys[i] != key:
            i = (i + 1) & mask
        return i

    def _grow(self) -> None:
        keys, lines = self._keys, self._lines
        self._reset(2 * len(lines))
        new_keys, new_lines, mask = self._keys, self._lines, self._mask
        for key, line in zip(keys, lines):
            if line:  # every key is distinct here: find a free slot, no comparison needed
                i = key & mask
                while new_lines[i]:
                    i = (i + 1) & mask
                new_keys[i], new_lines[i] = key, line
                self._used += 1
