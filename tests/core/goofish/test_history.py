import base64
import json

from core.goofish.history import history_entries


def model(sender: str, text: str, created: int, data: bool = True) -> dict:
    inner = base64.b64encode(json.dumps({"contentType": 1, "text": {"text": text}}).encode()).decode()
    custom = {"type": 1, "summary": text}
    if data:
        custom["data"] = inner
    return {"message": {"messageId": "1.PNM", "sender": {"uid": f"{sender}@goofish"}, "createAt": created,
                        "content": {"contentType": 101, "custom": custom}}}


def test_entries_carry_sender_text_and_time():
    body = {"userMessageModels": [model("22", "包邮的", 1700), model("33", "在吗", 1600, data=False)]}
    entries = history_entries(body)
    assert [(e.sender_id, e.text, e.created_at) for e in entries] == [("22", "包邮的", 1700), ("33", "在吗", 1600)]


def test_garbage_is_skipped_not_raised():
    assert history_entries(None) == []
    assert history_entries({"userMessageModels": "x"}) == []
    body = {"userMessageModels": [5, {"message": []}, {"message": {"content": {"custom": {"data": "%%%"}}}}]}
    entries = history_entries(body)
    assert [(e.sender_id, e.text, e.created_at) for e in entries] == [("", "", 0)]
