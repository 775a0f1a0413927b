"""Records started from the dashboard: one background thread each, bounded for a shared server.

A record spends the visitor's money with the visitor's key, so the dashboard starts one only after
the visitor has seen the estimate and confirmed it, and within the operator's limits
(`RecordLimits`, from the `[ftsync]` secrets): examples per job, tokens and cost per record, time,
and one record per account at a time (a second tab of the account is told, not queued). The
thread never calls Streamlit; the page reads the `RecordTask` from the session.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import first_line
from .runner import Estimate, RecordOptions, RecordReport, run_record


@dataclass(frozen=True)
class RecordLimits:
    """What one dashboard record may ask, per the operator (`record_*` keys of the `[ftsync]` secrets)."""

    examples: int = 50  # per job
    tokens: int = 2_000_000  # input counted, output bounded, over the whole record
    usd: float = 2.0  # the estimate's ceiling, as `ftsync record --max-cost`
    seconds: float = 1_200.0  # then it stops; what is answered is kept, the rest asked next time

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> RecordLimits:
        def number(key: str, default: float, kind: type) -> Any:
            value = section.get(f"record_max_{key}", default)
            try:
                value = kind(value)
            except (TypeError, ValueError):
                return default
            return value if value > 0 else default

        return cls(examples=number("examples", cls.examples, int), tokens=number("tokens", cls.tokens, int),
                   usd=number("usd", cls.usd, float), seconds=number("seconds", cls.seconds, float))

    def refusal(self, estimate: Estimate) -> str | None:
        """Why this estimate may not be recorded here (one line), or None."""
        tokens = sum(t.input_tokens + t.output_tokens for t in estimate.tasks if not t.gone)
        if tokens > self.tokens:
            return (f"This record would send up to {tokens:,} tokens; this dashboard allows {self.tokens:,} per "
                    "record: pick fewer models or examples, or run `ftsync record` on your own machine")
        if estimate.total > self.usd:
            return (f"The estimate, {estimate.total:.2f} USD, is over this dashboard's {self.usd:.2f} USD per record: "
                    "pick fewer models or examples, or run `ftsync record` on your own machine")
        return None


@dataclass
class RecordTask:
    label: str
    job_ids: list[str]
    state: str = "running"  # running | done | error
    done: int = 0
    total: int = 0
    now: str = ""  # what is being asked
    error: str | None = None
    report: RecordReport | None = None
    started_at: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.state == "running"

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else (0.0 if self.active else 1.0)

    @property
    def summary(self) -> str:
        """"24 answers recorded in 3.1 s, 1 model no longer serves", or the error."""
        if self.error:
            return self.error
        if self.report is None:
            return f"{self.done} of {self.total} asked"
        answered = sum(o.answered for o in self.report.outcomes)
        gone = sum(1 for o in self.report.outcomes if o.gone)
        failed = sum(o.failed for o in self.report.outcomes)
        parts = [f"{answered} answers recorded in {self.report.seconds:.1f} s"]
        if failed:
            parts.append(f"{failed} failed (asked again next time)")
        if gone:
            parts.append(f"{gone} model{'s' if gone != 1 else ''} no longer serve{'s' if gone == 1 else ''}")
        if self.report.stopped:
            parts.append(self.report.stopped)
        return ", ".join(parts)

    def on_progress(self, text: str, done: int, total: int) -> None:
        self.now, self.done, self.total = text, done, total


class Recording:
    """The accounts with a record running in this process (fingerprints only: no key, no data)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: set[str] = set()

    def claim(self, account: str) -> bool:
        with self._lock:
            if account in self._accounts:
                return False
            self._accounts.add(account)
            return True

    def release(self, account: str) -> None:
        with self._lock:
            self._accounts.discard(account)

    def busy(self, account: str) -> bool:
        with self._lock:
            return account in self._accounts


RECORDING = Recording()  # process-wide: which accounts are recording, not what
BUSY = ("A record of this account is already running (from this tab or another): wait until it ends; "
        "what it answers is kept, and a new record asks only what is left")


def start_record(options: RecordOptions, estimate: Estimate, limits: RecordLimits, *, account: str,
                 label: str, recording: Recording | None = None) -> tuple[RecordTask | None, str | None]:
    """Start recording `estimate` in a daemon thread; returns (the task, None), or (None, why not)."""
    recording = recording or RECORDING
    if why := limits.refusal(estimate):
        return None, why
    if not recording.claim(account):
        return None, BUSY
    options = dataclasses.replace(options, max_seconds=limits.seconds)
    task = RecordTask(label=label, job_ids=[j.job["id"] for j in estimate.jobs],
                      total=estimate.requests)

    def work() -> None:
        try:
            task.report = run_record(options, estimate, progress=task.on_progress)
            state = "done"
        except Exception as exc:  # FtsyncError: one line; anything else: say what broke
            task.error = first_line(exc)
            state = "error"
        finally:
            recording.release(account)  # before the task ends: a page that sees it done may record again
        task.state = state

    threading.Thread(target=work, name="ftsync-dashboard-record", daemon=True).start()
    return task, None
