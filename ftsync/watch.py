"""`ftsync watch`: W&B kept in step with OpenAI by itself.

A cycle is one `sync_jobs` over the account: what is new or changed is synced, a running job is
synced as far as it got (each cycle adds only its new steps), a finished job once. Between cycles the
watcher sleeps `interval` seconds, longer after a cycle whose listing failed (doubling up to
`max_backoff`), and wakes at once for a verified webhook (`webhooks.WebhookReceiver`), whose job is
synced right away; polling stays as the safety net for a delivery that never comes.

Stopping (`stop()`, which SIGINT/SIGTERM call) lets the jobs being written finish, leaves the
others for the next start, and returns 0: nothing is lost, since the ledger records a job only
once W&B has it. One watcher per W&B project: a second one meets the first's lock and exits.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import AuthError, ConfigError, FtsyncError
from .exits import EXIT_BUSY, EXIT_OK, EXIT_USAGE
from .locks import LockHeld, exclusive
from .settings import ftsync_home
from .snapshot import TERMINAL_STATUSES
from .sync import NOT_TRIED, RETRY_LATER, SyncOptions, SyncReport, sync_jobs
from .wandb_offline import upload_command

POLL_SLICE = 0.25  # seconds: how soon a signal's stop is seen while waiting
FAILED_RETRY_SECONDS = 600.0  # a job whose sync failed is tried again at the first cycle after this


@dataclass
class WatchOptions:
    sync: SyncOptions
    interval: float = 60.0  # seconds between polls
    max_backoff: float = 900.0  # the longest wait after listings that failed in a row
    webhook_port: int | None = None  # serve a webhook receiver on this port (0: any free port)
    webhook_host: str = "127.0.0.1"
    webhook_secret: str | None = field(default=None, repr=False)
    # a rejected key (401/403) is often a blip (a rotation, an outage of OpenAI's auth): retried with
    # the backoff, and only when it stays rejected this long and this many cycles does the watcher stop
    auth_grace: float = 600.0
    auth_cycles: int = 5


OK, FAILED, REJECTED, FATAL = "ok", "failed", "rejected", "fatal"  # how a cycle went


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def cycle_counts(report: SyncReport) -> str:
    """"25 jobs · 2 synced · 1 live · 22 unchanged": the counts that are not zero, the jobs always."""
    live = sum(1 for o in report.outcomes if o.outcome == "partial" and o.job_status not in TERMINAL_STATUSES)
    later = sum(1 for o in report.outcomes if o.message == NOT_TRIED)
    retry = sum(1 for o in report.outcomes if o.message == RETRY_LATER)
    counts = {"synced": report.count("synced"), "live": live, "partial": report.count("partial") - live,
              "unchanged": report.count("skipped") - later - retry, "failed": report.count("failed"),
              "failed lately, retried later": retry, "left for later": later}
    jobs = len(report.outcomes)
    return " · ".join([f"{jobs} job{'' if jobs == 1 else 's'}"] + [f"{n} {k}" for k, n in counts.items() if n])


class Watcher:
    """Runs cycles until stopped; `run()` returns the exit code."""

    def __init__(self, options: WatchOptions, say: Callable[[str], None] = print,
                 complain: Callable[[str], None] | None = None):
        self.options, self.say = options, say
        self.complain = complain or say  # why the watcher cannot go on (the CLI: stderr)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._webhook_jobs: dict[str, str] = {}  # job id -> event type, in arrival order
        self.cycles = 0
        self.signalled: int | None = None  # the signal that asked to stop
        self.offline_dirs: set[str] = set()  # offline run folders written, for the upload command at the end
        self.receiver = None
        self._reconciled = False  # online: what W&B has is learnt once, at the first cycle that lists

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or self.signalled is not None

    def stop(self) -> None:
        """Finish the jobs being written, start no other, return from run()."""
        self._stop.set()
        self._wake.set()

    def stop_from_signal(self, signum: int) -> None:
        """stop(), for a signal handler: a plain assignment only (the main thread may hold any lock
        when the signal lands); the loop looks at it at least every POLL_SLICE seconds."""
        self.signalled = signum

    def on_webhook(self, job_id: str, event_type: str) -> None:
        with self._lock:
            self._webhook_jobs[job_id] = event_type
        self._wake.set()

    def run(self) -> int:
        sync = self.options.sync
        entity, project = sync.wandb.scope
        # the lock lives in $FTSYNC_HOME itself, not in a dashboard account's folder (--dashboard):
        # a watcher with --dashboard and one without are still two watchers of one project
        home = ftsync_home()
        where = f"{entity}/{project}" if entity else project
        holder = f"pid {os.getpid()} on {socket.gethostname()}, since {stamp()}"
        try:
            with exclusive(home, "watch", entity or "", project, holder=holder):
                return self._loop(where)
        except LockHeld as held:
            self.complain(f"ftsync watch: another watcher already keeps W&B project {where} in step ({held.holder}); "
                          "this one exits")
            return EXIT_BUSY
        except ConfigError as exc:  # the lock cannot be made: an unwritable FTSYNC_HOME (LedgerError)
            self.complain(f"ftsync watch: {exc}")
            return EXIT_USAGE

    def _loop(self, where: str) -> int:
        opts = self.options
        if opts.webhook_port is not None:
            from .webhooks import WebhookReceiver

            try:
                self.receiver = WebhookReceiver(opts.webhook_host, opts.webhook_port, opts.webhook_secret or "",
                                                self.on_webhook).start()
            except OSError as exc:  # the port is taken, or not ours to bind
                self.complain(f"ftsync watch: cannot listen for webhooks on {opts.webhook_host}:{opts.webhook_port} "
                              f"({exc.strerror})")
                return EXIT_USAGE
        try:
            self.say(f"{stamp()} · watching W&B project {where}: a poll every {opts.interval:g} s"
                     + (f", OpenAI webhooks at {self.receiver.url}" if self.receiver else "") + "; Ctrl+C stops")
            failures, next_poll = 0, time.monotonic()  # the first poll at once
            rejected: list[float] = []  # when each cycle in a row found the key rejected
            while not self.stopping:
                self._wake.wait(min(POLL_SLICE, max(0.0, next_poll - time.monotonic())))
                self._wake.clear()
                if self.stopping:
                    break
                with self._lock:
                    hooked, self._webhook_jobs = list(self._webhook_jobs), {}
                if hooked:
                    outcome = self._cycle("webhook", hooked)
                elif time.monotonic() >= next_poll:
                    outcome = self._cycle("poll", None)
                    failures = 0 if outcome == OK else failures + 1
                    wait = min(opts.interval * 2 ** min(failures, 30), max(opts.max_backoff, opts.interval))
                    next_poll = time.monotonic() + wait
                else:
                    continue
                if outcome == FATAL:
                    return EXIT_USAGE
                rejected = rejected + [time.monotonic()] if outcome == REJECTED else []
                if rejected and len(rejected) >= opts.auth_cycles and rejected[-1] - rejected[0] >= opts.auth_grace:
                    self.complain(f"ftsync watch: OpenAI kept rejecting the key for {len(rejected)} cycles over "
                                  f"{rejected[-1] - rejected[0]:.0f} s; stopped, start it again once the key is fixed")
                    return EXIT_USAGE
                if self.stopping:
                    break
                if failures and not hooked:
                    self.say(f"{stamp()} · next poll in {wait:g} s (backing off after {failures} failed"
                             + (f"; the key was rejected {len(rejected)} time{'s' if len(rejected) != 1 else ''} in a "
                                f"row: it stops once rejected for {opts.auth_grace:g} s and {opts.auth_cycles} "
                                "cycles" if rejected else "") + ")")
            self.say(f"{stamp()} · stopped after {self.cycles} cycles; jobs not yet synced are synced at the next start")
            if command := upload_command(sorted(self.offline_dirs)):
                self.say(f"W&B offline: upload the runs this watcher wrote with:\n  {command}")
            return EXIT_OK
        finally:
            if self.receiver is not None:
                self.receiver.close()

    def _cycle(self, trigger: str, job_ids: list[str] | None) -> str:
        """One sync: OK when it ran, FAILED when the API failed it (try later), REJECTED when OpenAI
        refused the key (try later, up to the grace), FATAL when going on is pointless (an unwritable
        home)."""
        self.cycles += 1
        head = f"{stamp()} · cycle {self.cycles} ({trigger})"
        options = dataclasses.replace(self.options.sync, job_ids=job_ids, limit=None if job_ids else self.options.sync.limit,
                                      action="webhook" if job_ids else "watch", should_stop=lambda: self.stopping,
                                      reconcile=not self._reconciled,  # after that, the ledger knows what it wrote
                                      retry_failed_after=max(FAILED_RETRY_SECONDS, self.options.interval))
        try:
            report = sync_jobs(options)
        except AuthError as exc:
            self.say(f"{head}: {exc}")
            return REJECTED
        except ConfigError as exc:  # includes LedgerError: an unwritable home
            self.say(f"{head}: {exc}")
            self.complain(f"ftsync watch: {exc}; stopped, start it again once that is fixed")
            return FATAL
        except FtsyncError as exc:  # the listing failed: rate limit, outage, network
            self.say(f"{head}: {exc}")
            return FAILED
        except Exception as exc:  # noqa: BLE001 - a bug or the machine (threads, disk): months of watching must not end here
            self.say(f"{head}: unexpected {type(exc).__name__}: {exc}")
            return FAILED
        self._reconciled = True
        self.offline_dirs.update(report.offline_dirs)
        self.say(f"{head}: {cycle_counts(report)} · {report.seconds:.1f} s")
        for o in report.outcomes:
            if o.outcome == "failed":
                self.say(f"  {o.job_id} failed: {o.message}")
        return OK
