"""Per-example validation: OpenAI's cookbook checks, extended for tools, content parts, weights,
vision, preference (DPO), reinforcement (RFT) and legacy examples.

Every check works on arbitrary JSON without raising: wrong types become findings.
"""

from __future__ import annotations

from typing import Any

from .codes import Finding, finding
from .formats import CHAT_KEYS, NON_PREFERRED_KEYS, PREFERRED_KEYS

ROLE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "tool_calls", "function_call", "refusal", "weight"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
MAX_IMAGES = 10
IMAGE_DETAILS = frozenset({"low", "high", "auto"})


class Info:
    """What validation learned about an example, for statistics."""

    __slots__ = ("messages", "user", "assistant", "trained", "images", "system")

    def __init__(self) -> None:
        self.messages = self.user = self.assistant = self.trained = self.images = 0
        self.system = False


def _type(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(v), "number")


def _is_01(v: Any) -> bool:
    return type(v) in (int, float) and v in (0, 1)


def _check_parts(out: list[Finding], n: int, where: str, parts: list[Any], role: str, info: Info) -> None:
    if not parts:
        out.append(finding(n, "missing_content", f"{where} has an empty content list"))
    for j, part in enumerate(parts, 1):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                out.append(finding(n, "invalid_content_part", f"{where}, part {j}: a text part needs a string 'text'"))
        elif kind == "image_url":
            info.images += 1
            if role != "user":
                out.append(finding(n, "image_not_in_user_message", f"{where}: images are only allowed in user messages"))
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str) or not url.startswith(("https://", "http://", "data:image/")):
                out.append(finding(n, "invalid_content_part",
                                   f"{where}, part {j}: image_url needs a url (https:// or data:image/...)"))
            elif isinstance(image, dict) and "detail" in image and image["detail"] not in IMAGE_DETAILS:
                out.append(finding(n, "invalid_content_part", f"{where}, part {j}: detail must be low, high or auto"))
        else:
            out.append(finding(n, "invalid_content_part",
                               f"{where}, part {j}: type must be 'text' or 'image_url', got {kind!r}"[:200]))


def _check_tool_calls(out: list[Finding], n: int, where: str, m: dict[str, Any]) -> bool:
    """Whether the message carries a call; malformed calls are findings."""
    calls = m.get("tool_calls")
    has_call = False
    if calls is not None:
        ok = isinstance(calls, list) and bool(calls) and all(
            isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("type", "function") == "function"
            and isinstance(c.get("function"), dict) and isinstance(c["function"].get("name"), str)
            and isinstance(c["function"].get("arguments"), str) for c in calls)
        if not ok:
            out.append(finding(n, "invalid_tool_calls",
                               f"{where}: tool_calls must be a list of {{id, type: function, function: {{name, arguments: string}}}}"))
        has_call = bool(calls)
    fc = m.get("function_call")
    if fc is not None:
        if not (isinstance(fc, dict) and isinstance(fc.get("name"), str) and isinstance(fc.get("arguments"), str)):
            out.append(finding(n, "invalid_tool_calls", f"{where}: function_call must be {{name, arguments: string}}"))
        has_call = True
    return has_call


def check_messages(out: list[Finding], n: int, messages: Any, info: Info, label: str = "message") -> bool:
    """Validate a messages list into `out`; False when it is not a usable list at all."""
    if not isinstance(messages, list) or not messages:
        out.append(finding(n, "missing_messages_list",
                           "messages is empty" if isinstance(messages, list) else f"messages must be a list, got {_type(messages)}"))
        return False
    for i, m in enumerate(messages, 1):
        info.messages += 1
        # Fast path for the common {"role", "content": "non-empty text"} message: nothing to report.
        if type(m) is dict and len(m) == 2:
            role, content = m.get("role"), m.get("content")
            if type(content) is str and content:
                if role == "user":
                    info.user += 1
                    continue
                if role == "assistant":
                    info.assistant += 1
                    info.trained += 1
                    continue
                if role == "system" or role == "developer":
                    info.system = True
                    continue
        where = f"{label} {i}"
        if not isinstance(m, dict):
            out.append(finding(n, "message_not_object", f"{where} is {_type(m)}, not an object"))
            continue
        role = m.get("role")
        if "role" not in m:
            out.append(finding(n, "message_missing_key", f"{where} has no role"))
            continue
        allowed = ROLE_KEYS.get(role) if isinstance(role, str) else None
        if allowed is None:
            out.append(finding(n, "unrecognized_role", f"{where} has role {role!r}"[:200]))
            continue
        where = f"{where} ({role})"
        for key in m:
            if key not in allowed and key != "weight":
                out.append(finding(n, "message_unrecognized_key", f"{where} has unrecognized key {key!r}"[:200]))
        if "weight" in m:
            if role != "assistant":
                out.append(finding(n, "weight_not_on_assistant", f"{where} has a weight; only assistant messages may"))
            elif not _is_01(m["weight"]):
                out.append(finding(n, "invalid_weight", f"{where} has weight {m['weight']!r}; it must be 0 or 1"[:200]))
        if role == "system" or role == "developer":
            info.system = True
        elif role == "user":
            info.user += 1
        elif role == "tool" and not isinstance(m.get("tool_call_id"), str):
            out.append(finding(n, "message_missing_key", f"{where} needs a string tool_call_id"))
        elif role == "function" and not isinstance(m.get("name"), str):
            out.append(finding(n, "message_missing_key", f"{where} needs a string name"))
        has_call = False
        if role == "assistant":
            info.assistant += 1
            has_call = _check_tool_calls(out, n, where, m)
            if m.get("weight", 1) != 0:
                info.trained += 1
        content = m.get("content")
        if "content" not in m and not (has_call or isinstance(m.get("refusal"), str)):
            out.append(finding(n, "message_missing_key", f"{where} has no content"))
        elif isinstance(content, str):
            if not content and not has_call and role != "tool":
                out.append(finding(n, "missing_content", f"{where} has empty content"))
        elif isinstance(content, list):
            _check_parts(out, n, where, content, role, info)
        elif content is None:
            if role != "assistant" or not (has_call or isinstance(m.get("refusal"), str)):
                if "content" in m:
                    out.append(finding(n, "missing_content", f"{where} has null content"))
        else:
            out.append(finding(n, "missing_content", f"{where}: content must be a string or a list of parts, "
                                                    f"got {_type(content)}"))
    return True


def _check_tools(out: list[Finding], n: int, example: dict[str, Any]) -> None:
    tools = example.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(
            isinstance(t, dict) and t.get("type", "function") == "function" and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str) for t in tools)):
        out.append(finding(n, "invalid_tools", "tools must be a list of {type: function, function: {name, ...}}"))
    functions = example.get("functions")
    if functions is not None and not (isinstance(functions, list) and all(
            isinstance(f, dict) and isinstance(f.get("name"), str) for f in functions)):
        out.append(finding(n, "invalid_tools", "functions must be a list of {name, ...}"))


def check_chat(n: int, ex: dict[str, Any], info: Info) -> list[Finding]:
    out: list[Finding] = []
    _check_tools(out, n, ex)
    if not check_messages(out, n, ex.get("messages"), info):
        return out
    if info.assistant == 0:
        out.append(finding(n, "example_missing_assistant_message"))
    elif info.trained == 0:
        out.append(finding(n, "no_trained_message"))
    if info.user == 0:
        out.append(finding(n, "missing_user_message"))
    if info.images > MAX_IMAGES:
        out.append(finding(n, "too_many_images", f"{info.images} images; at most {MAX_IMAGES} per example"))
    return out


def check_reinforcement(n: int, ex: dict[str, Any], info: Info) -> list[Finding]:
    out: list[Finding] = []
    _check_tools(out, n, ex)
    if not any(k not in CHAT_KEYS for k in ex):
        out.append(finding(n, "rft_missing_reference",
                           "no reference field besides messages/tools (e.g. \"answer\": ...) for the grader"))
    messages = ex.get("messages")
    if check_messages(out, n, messages, info):
        last = messages[-1]
        role = last.get("role") if isinstance(last, dict) else None
        if role != "user":
            out.append(finding(n, "rft_last_not_user", f"the last message is {role!r}; it must be 'user'"[:200]))
    return out


def _first(ex: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((ex[k] for k in keys if k in ex), None)


def _output_text(out: list[Finding], n: int, name: str, value: Any, info: Info) -> Any:
    """The single assistant message of a preference output, or None after a finding."""
    if not isinstance(value, list) or not value:
        out.append(finding(n, "preference_missing_field", f"{name} must be a non-empty list of messages"))
        return None
    m = value[0]
    content = m.get("content") if isinstance(m, dict) else None
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
        out.append(finding(n, "preference_not_text", f"{name} contains an image"))
        return None
    if len(value) != 1 or not isinstance(m, dict) or m.get("role") != "assistant" or not (
            isinstance(content, str) and content or isinstance(content, list) and content):
        out.append(finding(n, "preference_output_invalid", f"{name} must be one assistant message with text content"))
        return None
    info.assistant += 1
    return content


def check_preference(n: int, ex: dict[str, Any], info: Info) -> list[Finding]:
    out: list[Finding] = []
    inp = ex.get("input")
    if not isinstance(inp, dict):
        out.append(finding(n, "preference_missing_field", "input must be an object with a messages list"))
    else:
        _check_tools(out, n, inp)
        messages = inp.get("messages")
        if check_messages(out, n, messages, info, "input message"):
            last = messages[-1]
            if not isinstance(last, dict) or last.get("role") != "user":
                role = last.get("role") if isinstance(last, dict) else None
                out.append(finding(n, "preference_input_last_not_user", f"input ends with {role!r}, not a user message"[:200]))
        if info.images:
            out.append(finding(n, "preference_not_text", "input contains images; preference examples are text only"))
    pref = _first(ex, PREFERRED_KEYS)
    non = _first(ex, NON_PREFERRED_KEYS)
    a = _output_text(out, n, "preferred_output", pref, info) if pref is not None else None
    b = _output_text(out, n, "non_preferred_output", non, info) if non is not None else None
    missing = [k for k, v in (("preferred_output", pref), ("non_preferred_output", non)) if v is None]
    if missing:
        out.append(finding(n, "preference_missing_field", f"missing {' and '.join(missing)}"))
    if a is not None and a == b:
        out.append(finding(n, "preference_identical_outputs"))
    return out


def check_legacy(n: int, ex: dict[str, Any], info: Info) -> list[Finding]:
    bad = [k for k in ("prompt", "completion") if not isinstance(ex.get(k), str)]
    if bad:
        return [finding(n, "legacy_missing_field", f"{' and '.join(bad)} must be a string")]
    info.messages, info.user, info.assistant, info.trained = 2, 1, 1, 1
    return []


CHECKS = {"chat": check_chat, "reinforcement": check_reinforcement, "preference": check_preference,
          "legacy": check_legacy}
