"""Fault injection, per route and deterministic by seed.

A rule reads `ROUTE:KIND[:key=value]...`; several rules are joined with `;`.

  ROUTE  jobs.list jobs.create jobs.retrieve jobs.cancel jobs.pause jobs.resume jobs.events
         jobs.checkpoints files.list files.create files.retrieve files.delete files.content
         models.list models.retrieve models.delete, or * for every route
  KIND   429 | 500 | 503 | delay | drop | truncate | corrupt
  keys   p=0.3          probability per matching request (default 1)
         times=2        fire at most this many times (default: no limit)
         after=1        let this many matching requests through first
         id=file-abc    only requests for this job/file/model id
         retry_after=1  seconds, sent as `retry-after` (429 default 1; `none` to omit)
         retry_after_ms=250   also send `retry-after-ms`
         should_retry=false   send `x-should-retry`
         delay=3        seconds to wait before answering (kind delay)

Examples: `jobs.list:429:times=1`, `files.content:drop:id=file-abc`,
`*:503:p=0.1;jobs.events:delay:delay=30`.

Whether a rule fires depends only on the seed, the rule and how many matching requests came
before, so a failing test replays exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .rand import mix, unit

ROUTES = (
    "jobs.list", "jobs.create", "jobs.retrieve", "jobs.cancel", "jobs.pause", "jobs.resume",
    "jobs.events", "jobs.checkpoints", "files.list", "files.create", "files.retrieve",
    "files.delete", "files.content", "models.list", "models.retrieve", "models.delete",
)
KINDS = ("429", "500", "503", "delay", "drop", "truncate", "corrupt")


class FaultSpecError(ValueError):
    """A fault rule that cannot be parsed; the message says which part is wrong."""


@dataclass
class FaultRule:
    route: str
    kind: str
    p: float = 1.0
    times: int | None = None
    after: int = 0
    id: str | None = None
    retry_after: str | None = "1"
    retry_after_ms: str | None = None
    should_retry: str | None = None
    delay: float = 5.0
    seen: int = 0
    fired: int = 0

    def matches(self, route: str, target_id: str | None) -> bool:
        return self.route in ("*", route) and (self.id is None or self.id == target_id)


@dataclass
class FaultInjector:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, spec: str | list[str] | None, seed: int = 0) -> "FaultInjector":
        injector = cls(seed=seed)
        texts = [spec] if isinstance(spec, str) else list(spec or [])
        for text in texts:
            for part in text.split(";"):
                if part.strip():
                    injector.add(part.strip())
        return injector

    def add(self, rule: str | FaultRule) -> FaultRule:
        parsed = rule if isinstance(rule, FaultRule) else parse_rule(rule)
        with self._lock:
            self.rules.append(parsed)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def decide(self, route: str, target_id: str | None) -> FaultRule | None:
        """The rule that fires for this request, if any (first matching rule wins)."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(route, target_id):
                    continue
                n = rule.seen
                rule.seen += 1
                if n < rule.after or (rule.times is not None and rule.fired >= rule.times):
                    continue
                if rule.p < 1.0 and unit(mix(self.seed, index, rule.route, rule.kind), n) >= rule.p:
                    continue
                rule.fired += 1
                return rule
        return None


def parse_rule(text: str) -> FaultRule:
    parts = text.split(":")
    if len(parts) < 2:
        raise FaultSpecError(f"fault rule {text!r}: expected ROUTE:KIND[:key=value...]")
    route, kind = parts[0].strip(), parts[1].strip()
    if route != "*" and route not in ROUTES:
        raise FaultSpecError(f"fault rule {text!r}: unknown route {route!r} (one of: *, {', '.join(ROUTES)})")
    if kind not in KINDS:
        raise FaultSpecError(f"fault rule {text!r}: unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    rule = FaultRule(route, kind)
    for option in parts[2:]:
        key, sep, value = option.partition("=")
        key = key.strip()
        if not sep:
            raise FaultSpecError(f"fault rule {text!r}: option {option!r} is not key=value")
        try:
            if key == "p":
                rule.p = float(value)
            elif key in ("times", "after"):
                setattr(rule, key, int(value))
            elif key == "delay":
                rule.delay = float(value)
            elif key in ("id", "retry_after", "retry_after_ms", "should_retry"):
                setattr(rule, key, None if value.lower() == "none" else value)
            else:
                raise FaultSpecError(f"fault rule {text!r}: unknown option {key!r}")
        except ValueError as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"fault rule {text!r}: bad value for {key!r}: {value!r}") from None
    return rule
