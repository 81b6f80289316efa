"""The fake model's script: which *step* answers a request, and the text a step answers with.

A step is a JSON object (see sim/llm.py for the whole scripting model). Steps are checked when they are scripted,
not when a request meets them, so a typo in a test fails at the `script()` call that made it.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections import deque
from typing import Any

Step = dict[str, Any]

DEFAULT_STEP: Step = {"content": "好的，亲，有什么可以帮您？"}

# Key → the types its value may have (bool is checked before int: True is an int to Python).
_STEP_TYPES: dict[str, tuple[type, ...]] = {
    "content": (str,),
    "status": (int,),
    "message": (str,),
    "delay": (int, float),
    "obey": (bool,),
    "json": (dict, list),
    "echo": (bool,),
    "when": (str,),
}

# A price as a buyer writes it: "¥50", "50元", "30块", "9.9". Arabic digits only ("五十" is not a number here).
_PRICE = re.compile(r"([¥￥])?\s*([0-9]+(?:\.[0-9]+)?)\s*(元|块)?")


class ScriptError(ValueError):
    """A malformed step or script; the control API answers it with 400."""


def check_step(step: Any, *, rule: bool = False) -> Step:
    """A validated copy of `step`; a rule must have a `when`, and only a rule may have one."""
    if not isinstance(step, dict):
        raise ScriptError(f"a step must be an object, not {type(step).__name__}")
    for key, value in step.items():
        if key not in _STEP_TYPES:
            raise ScriptError(f"unknown step key {key!r} (known: {', '.join(sorted(_STEP_TYPES))})")
        types = _STEP_TYPES[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ScriptError(f"step key {key!r} has the wrong type: {type(value).__name__}")
    if "status" in step and not 400 <= step["status"] <= 599:
        raise ScriptError(f"status must be an HTTP error status (400..599), not {step['status']}")
    if step.get("delay", 0) < 0:
        raise ScriptError("delay must not be negative")
    if rule and not step.get("when"):
        raise ScriptError("a rule needs a non-empty 'when'")
    if not rule and "when" in step:
        raise ScriptError("'when' belongs to rules only")
    return copy.deepcopy(step)


def _check_list(steps: Any, *, rule: bool, name: str) -> list[Step]:
    if not isinstance(steps, list):
        raise ScriptError(f"{name} must be a list of steps")
    return [check_step(step, rule=rule) for step in steps]


class Script:
    """The queue, the rules and the default. Not locked itself: FakeModel holds its lock around every call."""

    def __init__(self) -> None:
        self.queue: deque[Step] = deque()
        self.rules: list[Step] = []
        self.default: Step = dict(DEFAULT_STEP)

    def update(self, queue: Any = None, rules: Any = None, default: Any = None, append: bool = False) -> None:
        """Replace the given parts (or append to the queue); everything is checked before anything changes."""
        new_queue = None if queue is None else _check_list(queue, rule=False, name="queue")
        new_rules = None if rules is None else _check_list(rules, rule=True, name="rules")
        new_default = None if default is None else check_step(default)
        if new_queue is not None:
            if not append:
                self.queue.clear()
            self.queue.extend(new_queue)
        if new_rules is not None:
            self.rules = new_rules
        if new_default is not None:
            self.default = new_default

    def choose(self, last_user: str) -> Step:
        """The first queued step (used up), else the first matching rule, else the default."""
        if self.queue:
            return self.queue.popleft()
        for rule in self.rules:
            if rule["when"] in last_user:
                return rule
        return self.default


# --------------------------------------------------------------------------------------------- message text


def message_text(message: Any) -> str:
    """A message's text: a string content, or the text parts of a list content (the vision/parts format)."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def obey_answer(text: str) -> str:
    """What a model that does whatever the buyer asks says: agree to the buyer's price, or simply agree.

    A number written as a price (¥50, 50元, 50块) wins over a bare one ("2个一共50元" → 50); else the first."""
    matches = list(_PRICE.finditer(text))
    if not matches:
        return "好的，听你的"
    priced = [m for m in matches if m.group(1) or m.group(3)]
    return f"好的，就按{(priced or matches)[0].group(2)}元给你"


def step_content(step: Step, messages: list[Any]) -> str:
    """The answer text of a non-error step: json, else echo, else obey, else content; "" when none is given."""
    if "json" in step:
        return json.dumps(step["json"], ensure_ascii=False)
    if step.get("echo"):
        return last_user_text(messages)
    if step.get("obey"):
        return obey_answer(last_user_text(messages))
    return step.get("content", "")


# --------------------------------------------------------------------------------------------- tokens


def estimate_tokens(text: str) -> int:
    """Characters / 2, rounded up: 0 for "", at least 1 otherwise. Deterministic, so tests can assert usage; about
    right for Chinese text (a Chinese character is 1–2 tokens), an overestimate for English."""
    return math.ceil(len(text) / 2)


def prompt_tokens(messages: list[Any]) -> int:
    """The estimate over every message's text (roles and message framing count nothing)."""
    return sum(estimate_tokens(message_text(message)) for message in messages)
