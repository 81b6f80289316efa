"""Every real captured vector in shared/goofish-vectors.json decodes to the event its `decoded` form implies."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgpack
import pytest

from core.goofish.decode import decode_frame, decode_item, decode_lines, decode_payload
from core.goofish.messages import KINDS, ImEvent

CLI_KEYS = {
    "kind", "cid", "sender_id", "sender_nick", "text", "item_id",
    "order_id", "order_status", "message_id", "created_at",
}

# name → the CLI fields the vector must produce (fields not listed must be null)
EXPECTED: dict[str, dict[str, Any]] = {
    "java_s_sync_40103_read_a": {
        "kind": "read_receipt", "cid": "51204613184", "message_id": "3593867116846.PNM", "created_at": 1751435776794,
    },
    "java_s_para_40006_session_event": {"kind": "session", "cid": "51204613184", "sender_id": "2150369819"},
    "java_s_vulcan_370000_session_arouse": {
        "kind": "arouse", "cid": "46731209751", "item_id": "858405091799", "created_at": 1738168886398,
    },
    "zn_buyer_text_111": {
        "kind": "chat", "cid": "47812870000", "sender_id": "2202640918079", "sender_nick": "sha修", "text": "111",
        "item_id": "897742748011", "message_id": "f36902eff45445bdb2d1b0fd168f8264", "created_at": 1741704978866,
    },
    "zn_order_card_placed_unpaid": {
        "kind": "order", "cid": "47983389096", "sender_id": "3149637063", "text": "[我已拍下，待付款]",
        "item_id": "900052644277", "order_id": "2503688126356636370", "order_status": "unpaid",
        "message_id": "cc8bc2df7c934df086e0567cb69f1573", "created_at": 1742458817389,
    },
    "zn_session_redreminder": {
        "kind": "order", "cid": "47983389096", "order_status": "unpaid", "text": "等待买家付款", "created_at": 1742467315320,
    },
}


def _expected_line(name: str) -> dict[str, Any]:
    return {key: EXPECTED[name].get(key) for key in CLI_KEYS}


# The objectType each payload travels under (spec §3.4/§4.2); the red reminder's is not captured, 40006 is a guess.
OBJECT_TYPES = {
    "java_s_sync_40103_read_a": 40103,
    "java_s_para_40006_session_event": 40006,
    "java_s_vulcan_370000_session_arouse": 370000,
    "zn_buyer_text_111": 40000,
    "zn_order_card_placed_unpaid": 40000,
    "zn_session_redreminder": 40006,
    "truncated_text_1111": 40000,
}


def test_every_payload_vector_is_covered(vectors: dict[str, dict[str, Any]]) -> None:
    with_payload = {name for name, v in vectors.items() if "data_b64" in v}
    assert with_payload == set(EXPECTED) | {"truncated_text_1111"} == set(OBJECT_TYPES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_decodes(vectors: dict[str, dict[str, Any]], name: str) -> None:
    vector = vectors[name]
    event = decode_payload(vector["data_b64"], object_type=OBJECT_TYPES[name])
    assert event.to_json_dict() == _expected_line(name)
    assert event.raw == vector["decoded"]  # str keys, same structure as the published decoding
    assert event.error is None and event.object_type == OBJECT_TYPES[name]
    # a bare payload (no objectType known) is classified by its shape alone, to the same result
    assert decode_payload(vector["data_b64"]).to_json_dict() == _expected_line(name)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n != "java_s_vulcan_370000_session_arouse"))
def test_msgpack_vectors_reencode_byte_for_byte(vectors: dict[str, dict[str, Any]], name: str) -> None:
    # Guards our reading of the vectors (and sim's way to build payloads): int keys, use_bin_type=False.
    def int_keys(node: Any) -> Any:
        if isinstance(node, dict):
            return {int(k) if k.isdigit() else k: int_keys(v) for k, v in node.items()}
        return [int_keys(v) for v in node] if isinstance(node, list) else node

    packed = msgpack.packb(int_keys(vectors[name]["decoded"]), use_bin_type=False)
    assert base64.b64encode(packed).decode() == vectors[name]["data_b64"]


def test_truncated_vector_is_invalid(vectors: dict[str, dict[str, Any]]) -> None:
    event = decode_payload(vectors["truncated_text_1111"]["data_b64"])
    assert event.kind == "invalid"
    assert event.error and "truncated" in event.error
    line = event.to_json_dict()
    assert line["kind"] == "invalid" and line["error"] == event.error
    assert set(line) == CLI_KEYS | {"error"}


def test_own_echo_when_me_is_the_sender(vectors: dict[str, dict[str, Any]]) -> None:
    data = vectors["zn_buyer_text_111"]["data_b64"]
    assert decode_payload(data, me="2202640918079").kind == "own_echo"
    assert decode_payload(data, me="2202640918079@goofish").kind == "own_echo"
    assert decode_payload(data, me="3149637063").kind == "chat"


def test_order_card_stays_an_order_even_from_me(vectors: dict[str, dict[str, Any]]) -> None:
    assert decode_payload(vectors["zn_order_card_placed_unpaid"]["data_b64"], me="3149637063").kind == "order"


def _frame_with(vectors: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    frame = json.loads(json.dumps(vectors["java_s_para_40006_session_event"]["frame"]))
    template = frame["body"]["syncPushPackage"]["data"][0]
    frame["body"]["syncPushPackage"]["data"] = [
        dict(template, data=vectors[n]["data_b64"], objectType=OBJECT_TYPES[n]) for n in names
    ]
    return frame


def test_frame_with_every_item_gives_every_event(vectors: dict[str, dict[str, Any]]) -> None:
    names = ["java_s_para_40006_session_event", "zn_buyer_text_111", "zn_order_card_placed_unpaid",
             "java_s_sync_40103_read_a", "truncated_text_1111", "zn_session_redreminder"]
    frame = _frame_with(vectors, names)
    events = decode_frame(frame)
    assert [e.kind for e in events] == ["session", "chat", "order", "read_receipt", "invalid", "order"]
    assert decode_frame(json.dumps(frame, ensure_ascii=False)) == events
    assert all(isinstance(e, ImEvent) and e.kind in KINDS for e in events)


def test_arouse_item_in_a_vulcan_frame(vectors: dict[str, dict[str, Any]]) -> None:
    item = {"bizType": 370, "data": vectors["java_s_vulcan_370000_session_arouse"]["data_b64"],
            "streamId": "370", "objectType": 370000}
    event = decode_item(item)
    assert (event.kind, event.cid, event.item_id, event.object_type) == ("arouse", "46731209751", "858405091799", 370000)


def test_reg_reply_frame_gives_no_events(vectors: dict[str, dict[str, Any]]) -> None:
    assert decode_frame(vectors["java_reg_response"]["frame"]) == []


def test_decode_lines_mixes_frames_payloads_and_blanks(vectors: dict[str, dict[str, Any]]) -> None:
    frame = _frame_with(vectors, ["zn_buyer_text_111", "zn_order_card_placed_unpaid"])
    lines = [
        json.dumps(frame, ensure_ascii=False),
        "",
        "   ",
        vectors["java_s_sync_40103_read_a"]["data_b64"],
        json.dumps(vectors["java_reg_response"]["frame"]),
        "\ufeff" + vectors["truncated_text_1111"]["data_b64"] + "\n",
        "{not json",
        "[1, 2]",
        json.dumps({"objectType": 40006, "data": vectors["java_s_para_40006_session_event"]["data_b64"]}),
    ]
    out = list(decode_lines(lines, me="2202640918079"))
    assert [o["kind"] for o in out] == ["own_echo", "order", "read_receipt", "invalid", "invalid", "invalid", "session"]
    assert all(json.loads(json.dumps(o)) == o for o in out)
    assert all(set(o) >= CLI_KEYS for o in out)
    assert "error" in out[3] and "error" not in out[0]
