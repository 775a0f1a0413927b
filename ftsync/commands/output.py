"""Terminal output shared by the commands: a progress line and plain tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO


class ProgressLine:
    """`[####----] 12/40 ftjob-… logging` on one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 24):
        self.stream, self.width = stream or sys.stderr, width  # the stderr of now, not of the import
        self.tty = self.stream.isatty()

    def update(self, done: int, total: int, text: str) -> None:
        filled = int(self.width * done / total) if total else self.width
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total} {text}"
        if self.tty:
            self.stream.write("\r\033[K" + line[:120])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 70) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c)[:max_width] for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
