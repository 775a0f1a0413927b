"""What asking a model costs: USD per 1M input and output tokens, for recording answers.

Fine-tuned models are billed at their own rates, base models at theirs (openai.com/api/pricing, the
fine-tuning and text-token tables, as of PRICES_DATE). Update the table when OpenAI does; a model not
in it is estimated at the dearest rate, and said so.
"""

from __future__ import annotations

from .deadlines import base_of

PRICES_DATE = "2025-08"
SOURCE = f"openai.com/api/pricing, as of {PRICES_DATE}"

# base model -> ((input, output) per 1M tokens for its fine-tunes, (input, output) for the base model)
PRICES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "gpt-4o-2024-08-06": ((3.75, 15.00), (2.50, 10.00)),
    "gpt-4o-mini-2024-07-18": ((0.30, 1.20), (0.15, 0.60)),
    "gpt-4.1-2025-04-14": ((3.00, 12.00), (2.00, 8.00)),
    "gpt-4.1-mini-2025-04-14": ((0.80, 3.20), (0.40, 1.60)),
    "gpt-4.1-nano-2025-04-14": ((0.20, 0.80), (0.10, 0.40)),
    "o4-mini-2025-04-16": ((4.00, 16.00), (1.10, 4.40)),
    "gpt-3.5-turbo-0125": ((3.00, 6.00), (0.50, 1.50)),
    "babbage-002": ((1.60, 1.60), (0.40, 0.40)),
    "davinci-002": ((12.00, 12.00), (2.00, 2.00)),
}
DEAREST = max(p for pair in PRICES.values() for p in pair)


def rates(model: str) -> tuple[float, float, bool]:
    """(input, output) USD per 1M tokens for `model`, and whether the table knows it."""
    known = PRICES.get(base_of(model))
    if known is None:
        return DEAREST[0], DEAREST[1], False
    return (*(known[0] if model.startswith("ft:") else known[1]), True)


def cost(model: str, input_tokens: int, output_tokens: int) -> float:
    price_in, price_out, _ = rates(model)
    return (input_tokens * price_in + output_tokens * price_out) / 1_000_000
