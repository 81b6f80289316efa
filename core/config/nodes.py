"""Reading YAML nodes into typed values, each bad value recorded as a FILE:LINE issue.

The file is composed with PyYAML into nodes (not loaded into plain dicts) so every value still knows its
line. A bad value is recorded and read as None rather than raised, so one walk over the nodes collects
every issue: a seller fixing the file sees all of its mistakes at once instead of one per run.
"""

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.config.checks import item_problem, suggest
from core.config.templates import reply_template_problem
from core.errors import ConfigIssue

T = TypeVar("T")
D = TypeVar("D")
Check = Callable[[str], str | None]  # why a value is unacceptable, or None
Read = Callable[[Node, str], T | None]  # (node, key path) → the value, or None once an issue is reported
Bound = Callable[[str], float | None]  # key path → the largest value a number there may take, or None
# YAML 1.1 (PyYAML) reads `1e9` as a string; YAML 1.2 and every seller read it as a number.
_EXPONENT = re.compile(r"[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)[eE][-+]?\d+")


class NodeReader:
    """Turns YAML nodes into typed values, recording an issue (and returning None) for each bad one."""

    def __init__(self, file: str, env: Mapping[str, str], maximum: Bound | None = None) -> None:
        self.file = file
        self.env = env
        self._maximum = maximum
        self.issues: list[ConfigIssue] = []
        self._constructor = SafeConstructor()
        self._written_here: dict[int, set[int]] = {}

    def report(self, node: Node | None, key_path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.issues.append(ConfigIssue(self.file, line, key_path, message))

    def compose(self, text: str) -> Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            started = f" started on line {err.context_mark.line + 1}" if err.context_mark else ""
            context = f" ({err.context}{started})" if err.context else ""
            line = mark.line + 1 if mark else 1
            self.issues.append(ConfigIssue(self.file, line, "(yaml)", f"{err.problem}{context}"))
            return None

    def mapping(self, node: Node, path: str, allowed: frozenset[str],
                hints: Mapping[str, str] | None = None) -> dict[str, Node] | None:
        """The mapping's value nodes by key; duplicate and unknown keys are reported and dropped."""
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected a mapping, got {describe(node)}")
            return None
        # Remembered per node because flattening rewrites node.value, and an alias can bring us back here.
        written_here = self._written_here.setdefault(id(node), {id(key_node) for key_node, _ in node.value})
        try:
            # Resolves `<<: *anchor` merge keys: the merged pairs come first, so later ones override them.
            self._constructor.flatten_mapping(node)
        except ConstructorError as err:
            self.report(node, path, str(err.problem))
            return None
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            key_path = join(path, key)
            if key in keys and id(keys[key]) in written_here:
                self.report(key_node, key_path, f"duplicate key (first on line {keys[key].start_mark.line + 1})")
                continue
            keys[key] = key_node
            if key in allowed:
                values[key] = value_node
            else:
                self._unknown_key(key_node, key_path, key, allowed, hints)
        return values

    def _unknown_key(self, node: Node, key_path: str, key: str, allowed: frozenset[str],
                     hints: Mapping[str, str] | None) -> None:
        if hints and key in hints:
            self.report(node, key_path, f"'{key}' {hints[key]}")
        else:
            guess = suggest(key, allowed)
            self.report(node, key_path, f"unknown key '{key}'" + (f" (did you mean '{guess}'?)" if guess else ""))

    def sequence(self, node: Node, path: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.report(node, path, f"expected a list, got {describe(node)}")
            return []
        return list(node.value)

    def text(self, node: Node, path: str, check: Check | None = None, *, secret: bool = False) -> str | None:
        """Any scalar's text as written (so `reply: yes` and `item: 9000` mean what they look like), if the
        check accepts it. A *secret* value is never quoted back."""
        if not isinstance(node, ScalarNode) or node.tag.endswith(":null"):
            self.report(node, path, "expected a string" + ("" if secret else f", got {describe(node)}"))
            return None
        value = str(node.value)
        problem = check(value) if check else None
        if problem:
            self.report(node, path, problem)
            return None
        return value

    def flag(self, node: Node, path: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
            return bool(self._constructor.construct_object(node))
        self.report(node, path, f"expected true or false, got {describe(node)}")
        return None

    def number(self, node: Node, path: str, kind: type) -> Any:
        """A finite int (or float) no larger than the bound for *path*; the minimum is the caller's check."""
        value = self._numeric(node, kind)
        if value is None:
            self.report(node, path, f"expected {'an integer' if kind is int else 'a number'}, got {describe(node)}")
            return None
        if not math.isfinite(value):
            self.report(node, path, f"must be a finite number, got {value:g}")
            return None
        maximum = self._maximum(path) if self._maximum else None
        if maximum is not None and value > maximum:
            self.report(node, path, f"must be at most {_show(maximum)}, got {_show(value)}")
            return None
        return value

    def _numeric(self, node: Node, kind: type) -> Any:
        if not isinstance(node, ScalarNode):
            return None
        accepted = (":int",) if kind is int else (":int", ":float")
        if node.tag.endswith(accepted):
            return kind(self._constructor.construct_object(node))
        if kind is float and node.style is None and _EXPONENT.fullmatch(str(node.value)):
            return float(str(node.value).replace("_", ""))
        return None

    def reply(self, node: Node, path: str) -> str | None:
        return self.text(node, path, reply_template_problem)

    def item_id(self, node: Node, path: str) -> str | None:
        return self.text(node, path, item_problem)

    def required(self, values: Mapping[str, Node], key: str, parent: Node, path: str, read: Read[T],
                 hint: str = "") -> T | None:
        """Read a key that must be there; its absence is reported on the line of the enclosing mapping."""
        node = given(values, key)
        if node is None:
            self.report(parent, join(path, key), "missing" + (f" ({hint})" if hint else ""))
            return None
        return read(node, join(path, key))

    def first_use(self, lines: dict[str, int], value: str, node: Node, path: str, message: str) -> bool:
        """Record where *value* is first used; a later use is reported with that line."""
        if value in lines:
            self.report(node, path, f"{message} (first used on line {lines[value]})")
            return False
        lines[value] = node.start_mark.line + 1
        return True


def _show(number: float) -> str:
    """12 as 12 and 1e300 as 1e+300, for messages (an int of many digits stays whole)."""
    return str(number) if isinstance(number, int) else f"{number:g}"


def given(values: Mapping[str, Node], key: str) -> Node | None:
    """The key's node; None when absent or left empty (`proxy:` with nothing after it means "not set")."""
    node = values.get(key)
    return None if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")) else node


def optional(values: Mapping[str, Node], key: str, path: str, read: Read[T], default: D) -> T | D:
    node = given(values, key)
    value = read(node, join(path, key)) if node is not None else None
    return default if value is None else value


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "nothing" if node.tag.endswith(":null") else repr(node.value)
