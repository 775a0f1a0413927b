"""Every finding code in one place, the `Finding` record, and the error a user can cause.

Codes are stable API: the CLI's --json output, tests and the UI key on them. Add new codes here
(with a fixture in tests/data/datasets/); never rename one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

# code -> (severity, description). Names from OpenAI's cookbook (Chat_finetuning_data_prep) are kept
# where they exist, so its users recognise them.
CODES: dict[str, tuple[Severity, str]] = {
    # Bytes and JSON, found by the reader.
    "utf8_bom": ("warning", "the file starts with a UTF-8 byte order mark (skipped; some tools choke on it)"),
    "blank_line": ("warning", "an empty or whitespace-only line (skipped)"),
    "invalid_utf8": ("error", "the line is not valid UTF-8"),
    "invalid_json": ("error", "the line is not valid JSON"),
    "truncated_last_line": ("error", "the last line has no newline and is not valid JSON: the file looks cut off"),
    "line_too_large": ("error", "a line too large to parse in bounded memory (skipped: not checked or counted)"),
    # Shape of an example (cookbook checks, extended for tools, parts, weights).
    "not_an_object": ("error", "the line is JSON but not an object (cookbook: data_type)"),
    "unrecognized_example": ("error", "the object has none of messages, input/preferred_output, prompt/completion"),
    "mixed_formats": ("error", "examples in more than one training format in one file"),
    "missing_messages_list": ("error", "messages is missing, not a list, or empty"),
    "message_not_object": ("error", "a message is not an object"),
    "message_missing_key": ("error", "a message lacks a required key (role; tool_call_id on tool; name on function)"),
    "message_unrecognized_key": ("error", "a message has a key its role does not allow"),
    "unrecognized_role": ("error", "a message role is not system/developer/user/assistant/tool/function"),
    "missing_content": ("error", "a message has no usable content (empty, or not a string or list of parts)"),
    "invalid_content_part": ("error", "a content part is malformed (type, text or image_url)"),
    "invalid_tool_calls": ("error", "tool_calls/function_call is malformed"),
    "invalid_tools": ("error", "the example's tools list is malformed"),
    "invalid_weight": ("error", "weight is not 0 or 1"),
    "weight_not_on_assistant": ("error", "weight is set on a message that is not from the assistant"),
    "example_missing_assistant_message": ("error", "a chat example has no assistant message"),
    "missing_user_message": ("warning", "a chat example has no user message"),
    "no_trained_message": ("warning", "every assistant message has weight 0: nothing to train on"),
    # Vision.
    "too_many_images": ("error", "more than 10 images in one example"),
    "image_not_in_user_message": ("error", "an image outside a user message (assistant turns cannot hold images)"),
    # Preference (DPO).
    "preference_missing_field": ("error", "input, preferred_output or non_preferred_output is missing or malformed"),
    "preference_input_last_not_user": ("error", "a preference input must end with a user message"),
    "preference_output_invalid": ("error", "a preference output must be one assistant message with text content"),
    "preference_not_text": ("error", "preference examples are text only (no images)"),
    "preference_identical_outputs": ("warning", "preferred and non-preferred outputs are identical"),
    # Reinforcement (RFT).
    "rft_missing_reference": ("error", "a reinforcement example needs a reference field besides messages/tools"),
    "rft_last_not_user": ("error", "a reinforcement example must end with a user message"),
    # Legacy prompt/completion.
    "legacy_missing_field": ("error", "prompt and completion must both be strings"),
    # File level and cross-example.
    "too_few_examples": ("error", "fewer than 10 examples (OpenAI's minimum)"),
    "over_token_limit": ("warning", "the example exceeds the model's token limit and will be truncated"),
    "duplicate_example": ("warning", "the example repeats an earlier line exactly"),
    "validation_overlap": ("warning", "the example also appears in the validation file"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: `line` is 1-based, or None for the whole file."""

    line: int | None
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "code": self.code, "message": self.message}


def finding(line: int | None, code: str, message: str | None = None) -> Finding:
    """A finding; the message defaults to the code's description. Unknown codes fail loudly (a bug)."""
    if code not in CODES:
        raise KeyError(f"unknown finding code {code!r}")
    return Finding(line, code, message or CODES[code][1])


MAX_FINDINGS_PER_CODE = 1000  # counts stay exact; only the stored findings are capped


class FindingLog:
    """A file's findings: every one counted exactly, only the first `keep` of each code stored.

    A file of 20 million blank lines then holds 1,000 findings, not 20 million.
    """

    def __init__(self, keep: int = MAX_FINDINGS_PER_CODE):
        self.keep = keep
        self.counts: Counter[str] = Counter()
        self.kept: list[Finding] = []

    def add(self, line: int | None, code: str, message: str | None = None) -> None:
        self.counts[code] += 1
        if self.counts[code] <= self.keep:
            self.kept.append(finding(line, code, message))

    def add_finding(self, f: Finding) -> None:
        self.counts[f.code] += 1
        if self.counts[f.code] <= self.keep:
            self.kept.append(f)

    @property
    def truncated_codes(self) -> list[str]:
        """Codes with more findings than were stored."""
        return sorted(c for c, n in self.counts.items() if n > self.keep)


class DatasetError(ValueError):
    """A problem the user caused (missing file, unknown model...); its message is one line."""
