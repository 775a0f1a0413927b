"""When each model stops answering: the API's `shutdown_date`, else the dates OpenAI announced.

OpenAI's deprecations page ("Update to OpenAI's self-serve fine-tuning", 2026) says inference on a
fine-tuned model is disabled when its base model is shut down. The table below is what was announced
or reported, each date with its source; `GET /v1/models/{model}` (its `shutdown_date`) wins where the
API gives one. Update the table when OpenAI announces more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

DEPRECATIONS = "OpenAI deprecations page, 'Update to OpenAI's self-serve fine-tuning' (2026)"
REPORTED = "reported for 2027-01-14 (OpenAI deprecations page, 2026; not yet in the API)"

# base model (dated name) -> (last day it serves, source)
ANNOUNCED: dict[str, tuple[date, str]] = {
    "gpt-4o-2024-08-06": (date(2027, 1, 14), REPORTED),
    "gpt-4o-mini-2024-07-18": (date(2027, 1, 14), REPORTED),
    "gpt-4.1-2025-04-14": (date(2027, 1, 14), REPORTED),
    "gpt-4.1-mini-2025-04-14": (date(2027, 1, 14), REPORTED),
    "gpt-4.1-nano-2025-04-14": (date(2026, 10, 23), DEPRECATIONS),
    "o4-mini-2025-04-16": (date(2026, 10, 23), DEPRECATIONS),
    "gpt-3.5-turbo-0125": (date(2026, 10, 23), DEPRECATIONS),
    "gpt-3.5-turbo-1106": (date(2026, 10, 23), DEPRECATIONS),
    "gpt-3.5-turbo-0613": (date(2026, 10, 23), DEPRECATIONS),
    "gpt-4-0613": (date(2026, 10, 23), DEPRECATIONS),
    "babbage-002": (date(2026, 10, 23), DEPRECATIONS),
    "davinci-002": (date(2026, 10, 23), DEPRECATIONS),
}
ALIASES = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4.1": "gpt-4.1-2025-04-14",
           "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
           "o4-mini": "o4-mini-2025-04-16", "gpt-3.5-turbo": "gpt-3.5-turbo-0125", "gpt-4": "gpt-4-0613"}
FROM_API = "the models endpoint's shutdown_date"


@dataclass(frozen=True)
class Deadline:
    """The last day a model answers (None: none announced) and where that date comes from."""

    until: date | None
    source: str

    def days_left(self, today: date | None = None) -> int | None:
        if self.until is None:
            return None
        return (self.until - (today or datetime.now(timezone.utc).date())).days

    def serving(self, today: date | None = None) -> bool:
        left = self.days_left(today)
        return left is None or left > 0


def base_of(model: str) -> str:
    """The base model of `ft:<base>:org:suffix:id[:ckpt-step-N]`, dated (aliases resolved)."""
    name = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 1 else model
    return ALIASES.get(name, name)


def parse_shutdown(value: Any) -> date | None:
    """The API's `shutdown_date`: an ISO date or a Unix time; anything else is no date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 0 < value < 7_258_118_400:
        return datetime.fromtimestamp(value, timezone.utc).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def deadline(model: str, api_shutdown: Any = None) -> Deadline:
    """The model's own date from the API, else its base model's announced one."""
    from_api = parse_shutdown(api_shutdown)
    if from_api is not None:
        return Deadline(from_api, FROM_API)
    announced = ANNOUNCED.get(base_of(model))
    if announced is not None:
        return Deadline(*announced)
    return Deadline(None, "no shutdown announced")


def listed_shutdowns(client: Any) -> dict[str, Any]:
    """Each listed model's `shutdown_date`, in one request (`GET /v1/models`); an endpoint that does
    not list models gives none (the announced dates then apply). A rejected key is the caller's
    AuthError, as for any other request."""
    import openai

    from ..errors import AuthError, describe_openai_error

    try:
        return {m.id: getattr(m, "shutdown_date", None) for m in client.models.list()}
    except openai.AuthenticationError as exc:
        raise AuthError(describe_openai_error(exc, "listing models")) from None
    except openai.OpenAIError:
        return {}
