"""Property tests: the decoder never raises and always yields well-formed events, whatever it is fed —
random bytes, random base64, random JSON-ish structures, and mutated real payloads."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.goofish.decode import decode_frame, decode_item, decode_lines, decode_payload
from core.goofish.messages import KINDS, ORDER_STATUSES, ImEvent

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# msgpack carries int64/uint64 only, which is also every int a real payload can hold.
ints = st.integers(-(2**63), 2**64 - 1)
scalars = st.none() | st.booleans() | ints | st.floats(allow_nan=False) | st.text(max_size=40)
json_ish = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(["1", "2", "3", "4", "5", "6", "10", "data"]), children, max_size=5),
    max_leaves=30,
)
# Int-keyed maps like real payloads, so mutations reach deep into the classifier.
msgpack_ish = st.recursive(
    scalars | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.integers(0, 12) | st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


def check_event(event: Any) -> None:
    assert isinstance(event, ImEvent)
    assert event.kind in KINDS
    assert event.order_status is None or event.order_status in ORDER_STATUSES
    if event.kind == "invalid":
        assert isinstance(event.error, str) and event.error
    else:
        assert event.error is None
    check_line(event.to_json_dict())


def check_line(line: dict[str, Any]) -> None:
    assert line["kind"] in KINDS
    json.dumps(line)  # printable by the CLI
    for key in ("cid", "sender_id", "sender_nick", "text", "item_id", "order_id", "message_id"):
        assert line[key] is None or isinstance(line[key], str)
    assert line["created_at"] is None or isinstance(line["created_at"], int)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def int_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {int(k) if k.isdigit() else k: int_keys(v) for k, v in node.items()}
    return [int_keys(v) for v in node] if isinstance(node, list) else node


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a nested dict/list structure."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = replaced(copy[path[0]], path[1:], value)
    return copy


@FUZZ
@given(raw=st.binary(max_size=300), object_type=st.none() | st.sampled_from([40000, 40006, 40102, 40103, 370000, 7]))
def test_random_bytes(raw: bytes, object_type: int | None) -> None:
    check_event(decode_payload(b64(raw), object_type=object_type))


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_as_base64(text: str) -> None:
    check_event(decode_payload(text))
    check_event(decode_payload(text.encode("utf-8", "surrogatepass")))  # type: ignore[arg-type]


@FUZZ
@given(obj=msgpack_ish, object_type=st.none() | ints | json_ish)
def test_random_msgpack_structures(obj: Any, object_type: Any) -> None:
    for use_bin_type in (False, True):
        check_event(decode_payload(b64(msgpack.packb(obj, use_bin_type=use_bin_type)), object_type=object_type))


@FUZZ
@given(obj=json_ish)
def test_random_json_payloads_items_and_frames(obj: Any) -> None:
    check_event(decode_payload(b64(json.dumps(obj).encode())))
    check_event(decode_item(obj))
    for event in decode_frame(obj):
        check_event(event)
    push = {"lwp": "/s/para", "headers": {"mid": "1 0"}, "body": {"syncPushPackage": {"data": [obj, {"data": obj}]}}}
    events = decode_frame(push)
    assert len(events) == 2
    for event in events:
        check_event(event)
    for line in decode_lines([json.dumps(obj), json.dumps(push)]):
        check_line(line)


@FUZZ
@given(lines=st.lists(st.text(max_size=80) | st.binary(max_size=80), max_size=6))
def test_random_lines(lines: list[Any]) -> None:
    for line in decode_lines(lines):
        check_line(line)


@FUZZ
@given(data=st.data())
def test_mutated_real_payload_bytes(payload_bytes: list[bytes], data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(payload_bytes)))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[at] ^= data.draw(st.integers(1, 255))
        elif action == "truncate":
            del raw[at:]
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif raw:
            del raw[at]
    object_type = data.draw(st.sampled_from([None, 40000, 40006, 40103, 370000]))
    check_event(decode_payload(b64(bytes(raw)), object_type=object_type))


@FUZZ
@given(data=st.data())
def test_real_payloads_with_values_of_wrong_types(vectors: dict[str, dict[str, Any]], data: st.DataObject) -> None:
    decoded = [v["decoded"] for v in vectors.values() if "data_b64" in v and "error" not in v["decoded"]]
    structure = int_keys(data.draw(st.sampled_from(decoded)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(structure)))
        structure = replaced(structure, path, data.draw(msgpack_ish))
    packed = msgpack.packb(structure, use_bin_type=False)
    me = data.draw(st.none() | st.sampled_from(["2202640918079", "3149637063"]))
    check_event(decode_payload(b64(packed), me=me, object_type=data.draw(st.sampled_from([None, 40000, 40006, 40103]))))
    frame = {"lwp": "/s/sync", "headers": {"mid": "1 0"},
             "body": {"syncPushPackage": {"data": [{"objectType": 40000, "data": b64(packed)}] * 2}}}
    events = decode_frame(json.dumps(frame))
    assert len(events) == 2
    for event in events:
        check_event(event)
