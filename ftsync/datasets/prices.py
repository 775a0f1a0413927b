"""Base models: tokenizer, training token limit and training price. Update this table when OpenAI does.

Prices are USD per 1M training tokens (openai.com/api/pricing, fine-tuning section). `None` means the
model is not billed per token (reinforcement fine-tuning is billed by training time plus grader use).
Token limits are per training example; longer examples are truncated from the end.
"""

from __future__ import annotations

from typing import NamedTuple

from .codes import DatasetError


class BaseModel(NamedTuple):
    name: str
    encoding: str  # tiktoken encoding name
    token_limit: int  # tokens per training example
    usd_per_1m: float | None  # training price; None: billed by time


MODELS: dict[str, BaseModel] = {m.name: m for m in (
    BaseModel("gpt-4.1-2025-04-14", "o200k_base", 65_536, 25.00),
    BaseModel("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536, 5.00),
    BaseModel("gpt-4.1-nano-2025-04-14", "o200k_base", 65_536, 1.50),
    BaseModel("gpt-4o-2024-08-06", "o200k_base", 65_536, 25.00),
    BaseModel("gpt-4o-mini-2024-07-18", "o200k_base", 65_536, 3.00),
    BaseModel("o4-mini-2025-04-16", "o200k_base", 65_536, None),
    BaseModel("gpt-3.5-turbo-0125", "cl100k_base", 16_385, 8.00),
    BaseModel("gpt-3.5-turbo-1106", "cl100k_base", 16_385, 8.00),
    BaseModel("gpt-3.5-turbo-0613", "cl100k_base", 4_096, 8.00),
    BaseModel("babbage-002", "cl100k_base", 16_384, 0.40),
    BaseModel("davinci-002", "cl100k_base", 16_384, 6.00),
)}

# Short names as users (and the API) write them.
ALIASES = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}

# The model assumed when none is given, per detected format.
DEFAULT_MODEL = {
    "chat": "gpt-4o-mini-2024-07-18",
    "preference": "gpt-4o-mini-2024-07-18",
    "reinforcement": "o4-mini-2025-04-16",
    "legacy": "babbage-002",
}


def resolve_model(name: str) -> BaseModel:
    """The table row for a model name, an alias, or a fine-tuned model (`ft:<base>:org::id`)."""
    key = name.strip()
    if key.startswith("ft:"):
        key = key.split(":")[1]
    key = ALIASES.get(key, key)
    if key in MODELS:
        return MODELS[key]
    raise DatasetError(f"unknown base model {name!r}; known: {', '.join(sorted([*MODELS, *ALIASES]))}")


def training_cost(model: BaseModel, billed_tokens_per_epoch: int, n_epochs: int) -> float | None:
    """USD for a job, as the fine-tuning guide computes it: price/1M x tokens x epochs."""
    if model.usd_per_1m is None:
        return None
    return round(model.usd_per_1m * billed_tokens_per_epoch * n_epochs / 1_000_000, 4)
