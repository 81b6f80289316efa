"""LWP frame builders against the spec's JSON shapes (§3), and the frame parser."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from core.goofish.endpoints import DINGTALK_UA
from core.goofish.errors import FrameError
from core.goofish.frames import (
    Push,
    Request,
    Response,
    ack_diff_frame,
    create_conversation_frame,
    dumps,
    get_state_frame,
    heartbeat_frame,
    list_messages_frame,
    parse_frame,
    push_ack,
    push_items,
    reg_frame,
    send_image_frame,
    send_text_frame,
    sync_position,
)

MID = "5701741704675979 0"
DID = "1F3A9C2E-0B4D-4E7A-9C1D-5E6F7A8B9C0D-2202640918079"


def test_reg_frame_exact() -> None:
    frame = reg_frame("ACCESS", DID, DINGTALK_UA, mid=MID)
    assert frame == {
        "lwp": "/reg",
        "headers": {
            "cache-header": "app-key token ua wv",
            "app-key": "444e9908a51d1cb236a27862abc769c9",
            "token": "ACCESS",
            "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/133.0.0.0 Safari/537.36 DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) "
            "DingWeb/2.1.5 IMPaaS DingWeb/2.1.5",
            "dt": "j",
            "wv": "im:3,au:3,sy:6",
            "sync": "0,0;0;0;",
            "did": DID,
            "mid": MID,
        },
    }
    assert list(frame["headers"]) == ["cache-header", "app-key", "token", "ua", "dt", "wv", "sync", "did", "mid"]
    assert "body" not in frame


def test_reg_frame_generates_mid_and_rejects_bad_args_without_echoing_token() -> None:
    assert reg_frame("T", DID, "ua")["headers"]["mid"].endswith(" 0")
    with pytest.raises(FrameError) as caught:
        reg_frame("", DID, "ua")
    assert "token" in str(caught.value)
    with pytest.raises(FrameError):
        reg_frame("T", "", "ua")


def test_ack_diff_frame_exact() -> None:
    frame = ack_diff_frame(1741704978866000, now_ms=1741704978999, mid=MID)
    assert frame == {
        "lwp": "/r/SyncStatus/ackDiff",
        "headers": {"mid": MID},
        "body": [
            {
                "pipeline": "sync",
                "tooLong2Tag": "PNM,1",
                "channel": "sync",
                "topic": "sync",
                "highPts": 0,
                "pts": 1741704978866000,
                "seq": 0,
                "timestamp": 1741704978999,
            }
        ],
    }


def test_ack_diff_defaults_and_validation() -> None:
    body = ack_diff_frame(0, seq=3)["body"][0]
    assert body["seq"] == 3 and body["pts"] == 0 and body["timestamp"] > 1_700_000_000_000
    for bad in (-1, True, "5", 1.5):
        with pytest.raises(FrameError):
            ack_diff_frame(bad)  # type: ignore[arg-type]


def test_get_state_and_heartbeat() -> None:
    assert get_state_frame(mid=MID) == {"lwp": "/r/SyncStatus/getState", "headers": {"mid": MID}, "body": [{"topic": "sync"}]}
    assert heartbeat_frame(mid=MID) == {"lwp": "/!", "headers": {"mid": MID}}
    assert dumps(heartbeat_frame(mid=MID)) == '{"lwp":"/!","headers":{"mid":"5701741704675979 0"}}'


def test_push_ack_copies_mid_sid_and_optional_headers() -> None:
    push = {
        "lwp": "/s/para",
        "headers": {"app-key": "444e", "mid": "a3e20004 0", "ua": "UA", "sid": "2127f5e8", "extra": "x"},
        "body": {},
    }
    expected = {"code": 200, "headers": {"mid": "a3e20004 0", "sid": "2127f5e8", "app-key": "444e", "ua": "UA"}}
    assert push_ack(push) == expected
    assert push_ack(parse_frame(json.dumps(push))) == expected  # type: ignore[arg-type]
    assert push_ack({"headers": {"mid": "m 0", "dt": "j"}}) == {"code": 200, "headers": {"mid": "m 0", "sid": "", "dt": "j"}}
    with pytest.raises(FrameError):
        push_ack({"headers": {}})
    with pytest.raises(FrameError):
        push_ack({"headers": ["mid"]})


def _inner(frame: dict[str, Any]) -> dict[str, Any]:
    data = frame["body"][0]["content"]["custom"]["data"]
    return json.loads(base64.b64decode(data).decode("utf-8"))


@pytest.mark.parametrize("cid", ["47812870000", "47812870000@goofish", 47812870000])
def test_send_text_frame_exact(cid: object) -> None:
    frame = send_text_frame(cid, "2202640918079", "3149637063@goofish", "包邮的，拍下就发", mid=MID, uuid="-17417046759791")
    data = frame["body"][0]["content"]["custom"]["data"]
    assert frame == {
        "lwp": "/r/MessageSend/sendByReceiverScope",
        "headers": {"mid": MID},
        "body": [
            {
                "uuid": "-17417046759791",
                "cid": "47812870000@goofish",
                "conversationType": 1,
                "content": {"contentType": 101, "custom": {"type": 1, "data": data}},
                "redPointPolicy": 0,
                "extension": {"extJson": "{}"},
                "ctx": {"appVersion": "1.0", "platform": "web"},
                "mtags": {},
                "msgReadStatusSetting": 1,
            },
            {"actualReceivers": ["2202640918079@goofish", "3149637063@goofish"]},
        ],
    }
    # compact UTF-8 JSON, exactly
    assert base64.b64decode(data).decode("utf-8") == '{"contentType":1,"text":{"text":"包邮的，拍下就发"}}'
    assert _inner(frame) == {"contentType": 1, "text": {"text": "包邮的，拍下就发"}}


def test_send_text_frame_defaults_and_validation() -> None:
    frame = send_text_frame("1", "2", "3", "hi")
    assert frame["headers"]["mid"].endswith(" 0")
    assert frame["body"][0]["uuid"].startswith("-") and frame["body"][0]["uuid"].endswith("1")
    for args in (("", "2", "3", "hi"), ("1", "", "3", "hi"), ("1", "2", "3", ""), ("1", "2", None, "hi"),
                 ("1 2", "2", "3", "hi"), ("@goofish", "2", "3", "hi"), (True, "2", "3", "hi")):
        with pytest.raises(FrameError):
            send_text_frame(*args)  # type: ignore[arg-type]


def test_send_image_frame() -> None:
    url = "https://img.alicdn.com/bao/uploaded/i4/x.jpg"
    frame = send_image_frame("47812870000", "2202640918079", "3149637063", url, 800, 600, mid=MID, uuid="-11")
    assert frame["body"][0]["content"] == {"contentType": 101, "custom": {"type": 2, "data": frame["body"][0]["content"]["custom"]["data"]}}
    assert _inner(frame) == {"contentType": 2, "image": {"pics": [{"height": 600, "type": 0, "url": url, "width": 800}]}}
    assert frame["body"][1] == {"actualReceivers": ["2202640918079@goofish", "3149637063@goofish"]}
    with pytest.raises(FrameError):
        send_image_frame("1", "2", "3", "file:///etc/passwd", 1, 1)
    with pytest.raises(FrameError):
        send_image_frame("1", "2", "3", url, -1, 1)


def test_create_conversation_frame_exact() -> None:
    assert create_conversation_frame("2202640918079@goofish", "3149637063", "900052644277", mid=MID) == {
        "lwp": "/r/SingleChatConversation/create",
        "headers": {"mid": MID},
        "body": [
            {
                "pairFirst": "2202640918079@goofish",
                "pairSecond": "3149637063@goofish",
                "bizType": "1",
                "extension": {"itemId": "900052644277"},
                "ctx": {"appVersion": "1.0", "platform": "web"},
            }
        ],
    }


def test_list_messages_frame_exact() -> None:
    assert list_messages_frame("47812870000", mid=MID) == {
        "lwp": "/r/MessageManager/listUserMessages",
        "headers": {"mid": MID},
        "body": ["47812870000@goofish", False, 9007199254740991, 20, False],
    }
    assert list_messages_frame("1@goofish", cursor=5, count=1, mid=MID)["body"] == ["1@goofish", False, 5, 1, False]


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": "闲鱼", "b": [1, 2]}) == '{"a":"闲鱼","b":[1,2]}'


def test_parse_reg_reply_is_response(vectors: dict[str, dict[str, Any]]) -> None:
    frame = parse_frame(json.dumps(vectors["java_reg_response"]["frame"]))
    assert isinstance(frame, Response)
    assert frame.code == 200 and frame.mid == "8701751446438481 0"
    assert frame.body["unitName"] == "PNM"
    assert not hasattr(frame, "lwp")


def test_parse_push_and_items(vectors: dict[str, dict[str, Any]]) -> None:
    frame_dict = json.loads(json.dumps(vectors["java_s_para_40006_session_event"]["frame"]))
    items = frame_dict["body"]["syncPushPackage"]["data"]
    items.append({"bizType": 40, "data": "AAAA", "objectType": 40000, "pts": 1750988117564003})
    items.append("not an item")
    frame = parse_frame(json.dumps(frame_dict).encode("utf-8"))
    assert isinstance(frame, Push)
    assert not hasattr(frame, "code")
    assert frame.lwp == "/s/para" and frame.mid == "a3e20004 0" and frame.sid.startswith("2127f5e8")
    assert [i if isinstance(i, str) else i["objectType"] for i in push_items(frame)] == [40006, 40000, "not an item"]
    assert sync_position(frame) == 1750988117564003


def test_sync_position_and_items_tolerate_missing_parts() -> None:
    def push(body: Any) -> Push:
        return Push(lwp="/s/sync", mid="m 0", sid=None, headers={}, body=body)

    assert push_items(push(None)) == [] and sync_position(push(None)) is None
    assert push_items(push({"syncPushPackage": {"data": "x"}})) == []
    assert sync_position(push({"syncPushPackage": {"maxPts": 1750988117564003, "data": []}})) == 1750988117564003
    assert sync_position(push({"syncPushPackage": {"maxPts": True}})) is None
    assert sync_position(push({"syncPushPackage": {"maxPts": 0}})) == 0


def test_parse_request_and_codes() -> None:
    assert isinstance(parse_frame('{"lwp":"/r/MessageSend/sendByReceiverScope","headers":{"mid":"1 0"},"body":[]}'), Request)
    assert isinstance(parse_frame('{"lwp":"/!","headers":{"mid":"1 0"}}'), Request)
    response = parse_frame('{"headers":{"mid":"1 0"},"code":"401","body":{"reason":"bad token"}}')
    assert isinstance(response, Response) and response.code == 401
    response = parse_frame('{"code":200}')
    assert isinstance(response, Response) and response.mid is None and response.headers == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1,2]", "list"),
        ('"str"', "str"),
        ("{}", "neither"),
        ('{"lwp": 5}', "neither"),
        ('{"code": "abc"}', "not an integer"),
        ('{"code": true}', "not an integer"),
        (b"\xff\xfe", "UTF-8"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_parse_frame_errors(text: str | bytes, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(text)
    assert reason in str(caught.value)


