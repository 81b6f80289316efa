"""The fake model server (sim/llm.py), driven by the real `openai` client to prove wire compatibility."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import requests

from sim.llm import FakeModel
from sim.llm_script import ScriptError, estimate_tokens

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-very-secret-0123456789"
DEFAULT = "好的，亲，有什么可以帮您？"


@pytest.fixture
def fake() -> Iterator[FakeModel]:
    with FakeModel(api_key=KEY) as model:
        yield model


@pytest.fixture
def client(fake: FakeModel) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0, timeout=5)


def ask(client: openai.OpenAI, text: str, **kwargs: Any) -> str | None:
    answer = client.chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": text}],
                                            **kwargs)
    return answer.choices[0].message.content


def wait_for(condition: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# --------------------------------------------------------------------------------------------- completions


def test_a_plain_completion_answers_the_default_with_usage_and_is_logged(fake: FakeModel,
                                                                         client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "你是闲鱼卖家"}, {"role": "user", "content": "在吗"}]
    answer = client.chat.completions.create(model="qwen-test", messages=messages, max_tokens=64,
                                            temperature=0.3)
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-")
    assert answer.model == "qwen-test" and abs(answer.created - time.time()) < 60
    assert answer.choices[0].message.role == "assistant" and answer.choices[0].message.content == DEFAULT
    assert answer.choices[0].finish_reason == "stop"
    # characters / 2 rounded up: "你是闲鱼卖家" 6 → 3, "在吗" 2 → 1; the default's 13 characters → 7
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (4, 7, 11)
    [entry] = fake.requests()
    assert entry["seq"] == 1 and entry["model"] == "qwen-test" and entry["messages"] == messages
    assert entry["max_tokens"] == 64 and entry["stream"] is False and entry["response_format"] is None
    assert entry["authorized"] is True and entry["status"] == 200
    assert abs(entry["at_ms"] - time.time() * 1000) < 60_000


def test_the_token_estimate() -> None:
    assert [estimate_tokens(text) for text in ("", "a", "ab", "abc", "好的好的好")] == [0, 1, 1, 2, 3]


def test_queue_then_rules_then_default_and_append(fake: FakeModel, client: openai.OpenAI) -> None:
    fake.script(queue=[{"content": "一"}, {"content": "二"}],
                rules=[{"when": "包邮", "content": "不包邮哦"}, {"when": "包", "content": "第二条规则"}],
                default={"content": "默认"})
    assert ask(client, "包邮吗") == "一"            # the queue comes first, whatever the message
    assert ask(client, "包邮吗") == "二"
    assert ask(client, "包邮吗") == "不包邮哦"       # queue used up: the first matching rule
    assert ask(client, "能包吗") == "第二条规则"
    assert ask(client, "你好") == "默认"
    fake.script(queue=[{"content": "三"}])
    script = fake.script(queue=[{"content": "四"}], append=True)
    assert [step["content"] for step in script["queue"]] == ["三", "四"]
    assert [ask(client, "包邮吗") for _ in range(3)] == ["三", "四", "不包邮哦"]
    fake.script(queue=[{"content": "五"}, {"content": "六"}])
    fake.script(queue=[{"content": "七"}])          # without append the queue is replaced
    assert [ask(client, "x") for _ in range(2)] == ["七", "默认"]


def test_scripting_over_http_and_malformed_steps(fake: FakeModel, client: openai.OpenAI) -> None:
    answer = requests.post(f"{fake.control_url}/script", json={"queue": [{"content": "甲"}]}, timeout=5)
    assert answer.status_code == 200 and answer.json()["queue"] == [{"content": "甲"}]
    requests.post(f"{fake.control_url}/script", json={"append": True, "queue": [{"content": "乙"}]}, timeout=5)
    assert [ask(client, "x") for _ in range(3)] == ["甲", "乙", DEFAULT]
    for bad in ({"queue": [{"contnet": "typo"}]}, {"rules": [{"content": "no when"}]},
                {"queue": [{"when": "x", "content": "y"}]}, {"default": {"status": 200}},
                {"queue": [{"delay": -1}]}, {"queue": "not a list"}, {"nonsense": 1}):
        answer = requests.post(f"{fake.control_url}/script", json=bad, timeout=5)
        assert answer.status_code == 400, bad
        assert answer.json()["error"]
    with pytest.raises(ScriptError):
        fake.script(queue=[{"content": "ok"}, {"obey": "yes"}])
    assert fake.script()["queue"] == []            # a rejected script changes nothing


def test_streaming_with_include_usage(fake: FakeModel, client: openai.OpenAI) -> None:
    text = "这个宝贝九成新，可以小刀，包邮到家"
    fake.script(queue=[{"content": text}])
    chunks = list(client.chat.completions.create(
        model="sim-chat", messages=[{"role": "user", "content": "还在吗"}], stream=True,
        stream_options={"include_usage": True}))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    with_choices = [chunk for chunk in chunks if chunk.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == text
    assert len([c for c in with_choices if c.choices[0].delta.content]) > 1     # really split
    assert with_choices[-1].choices[0].finish_reason == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert usage_chunk.usage.completion_tokens == estimate_tokens(text) and usage_chunk.usage.prompt_tokens == 2
    assert fake.requests()[-1]["stream"] is True


def test_streaming_without_usage_has_no_usage_chunk(fake: FakeModel, client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="sim-chat", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert all(chunk.choices for chunk in chunks) and all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == DEFAULT
    raw = requests.post(f"{fake.base_url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
                        timeout=5)
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    assert raw.text.startswith("data: {") and raw.text.endswith("data: [DONE]\n\n")


def test_json_object_response_format(fake: FakeModel, client: openai.OpenAI) -> None:
    decision = {"reply": "可以，¥80 包邮", "intent": "bargain", "price": 80}
    fake.script(queue=[{"json": decision}])
    content = ask(client, "80包邮行吗", response_format={"type": "json_object"})
    assert content is not None and json.loads(content) == decision
    assert "¥80" in content                        # ensure_ascii=False: the text is not \u-escaped
    assert fake.requests()[-1]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("text, expected", [
    ("50元卖不卖", "好的，就按50元给你"),
    ("¥35 行吗", "好的，就按35元给你"),
    ("2个一共90块", "好的，就按90元给你"),         # a number written as a price wins over a bare one
    ("便宜到9.9吧", "好的，就按9.9元给你"),
    ("你必须送我一个", "好的，听你的"),
])
def test_obey(fake: FakeModel, client: openai.OpenAI, text: str, expected: str) -> None:
    fake.script(default={"obey": True})
    assert ask(client, text) == expected


def test_obey_and_echo_read_the_last_user_message_and_empty_content(fake: FakeModel,
                                                                    client: openai.OpenAI) -> None:
    fake.script(queue=[{"obey": True}, {"echo": True}, {"content": ""}])
    messages = [{"role": "user", "content": "100元"}, {"role": "assistant", "content": "不行"},
                {"role": "user", "content": "那80元"}, {"role": "assistant", "content": "…"}]
    obeyed = client.chat.completions.create(model="m", messages=messages)   # type: ignore[arg-type]
    assert obeyed.choices[0].message.content == "好的，就按80元给你"
    assert ask(client, "原样说一遍：包邮吗？") == "原样说一遍：包邮吗？"
    empty = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert empty.choices[0].message.content == "" and empty.usage is not None
    assert empty.usage.completion_tokens == 0


# --------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("status, error", [(500, openai.InternalServerError), (429, openai.RateLimitError),
                                           (503, openai.InternalServerError)])
def test_scripted_error_statuses(fake: FakeModel, client: openai.OpenAI, status: int,
                                 error: type[openai.APIStatusError]) -> None:
    fake.script(queue=[{"status": status, "message": "scripted trouble"}])
    with pytest.raises(error) as caught:
        ask(client, "hi")
    assert caught.value.status_code == status and "scripted trouble" in caught.value.message
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] is None
    assert fake.requests()[-1]["status"] == status
    assert ask(client, "hi") == DEFAULT           # the step was used up


def test_a_wrong_or_missing_key_is_401_and_no_key_is_ever_logged(fake: FakeModel) -> None:
    wrong = openai.OpenAI(base_url=fake.base_url, api_key="sk-wrong-key-abcdef", max_retries=0, timeout=5)
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(wrong, "hi")
    assert caught.value.code == "invalid_api_key" and caught.value.type == "invalid_request_error"
    missing = requests.post(f"{fake.base_url}/chat/completions", timeout=5,
                            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    good = openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0, timeout=5)
    assert ask(good, "hi") == DEFAULT
    log = requests.get(f"{fake.control_url}/requests", timeout=5)
    assert [(e["authorized"], e["status"]) for e in log.json()["requests"]] == [(False, 401), (False, 401),
                                                                               (True, 200)]
    for secret in (KEY, "sk-wrong-key-abcdef", "Bearer", "uthorization"):
        assert secret not in log.text and secret not in json.dumps(fake.requests())


def test_malformed_requests_and_unknown_paths(fake: FakeModel) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    url = f"{fake.base_url}/chat/completions"
    for body in (b"{not json", b"[]", json.dumps({"model": "m"}).encode(),
                 json.dumps({"model": "m", "messages": []}).encode()):
        answer = requests.post(url, data=body, headers=auth, timeout=5)
        assert answer.status_code == 400, body
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] is None and error["message"]
    assert [entry["status"] for entry in fake.requests()] == [400] * 4
    unknown = requests.get(f"{fake.base_url}/embeddings", headers=auth, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "invalid_request_error"
    assert requests.get(f"{fake.control_url}/nothing", timeout=5).status_code == 404
    assert requests.get(url, headers=auth, timeout=5).status_code == 405


def test_the_model_list(fake: FakeModel, client: openai.OpenAI) -> None:
    ask(client, "hi")
    models = client.models.list()
    assert models.object == "list"
    assert [(m.id, m.object, m.owned_by) for m in models.data] == [("sim-chat", "model", "sim")]
    client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
    assert [m.id for m in client.models.list().data] == ["sim-chat", "qwen-plus"]


# --------------------------------------------------------------------------------------------- time


def test_a_stall_times_the_client_out_without_blocking_other_requests(fake: FakeModel,
                                                                     client: openai.OpenAI) -> None:
    fake.script(queue=[{"delay": 30, "content": "太迟了"}])
    impatient = client.with_options(timeout=0.5)
    outcome: dict[str, Any] = {}

    def stalled() -> None:
        started = time.monotonic()
        try:
            ask(impatient, "在吗")
        except Exception as exc:        # the test thread reports whatever happened
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=stalled)
    thread.start()
    wait_for(lambda: len(fake.requests()) == 1)
    started = time.monotonic()
    assert ask(client, "另一个买家") == DEFAULT      # answered while the first request stalls
    assert time.monotonic() - started < 0.4
    thread.join(timeout=3)
    assert isinstance(outcome.get("error"), openai.APITimeoutError) and outcome["elapsed"] < 1.5
    assert fake.requests()[0]["status"] is None       # still stalled on the server: no answer yet


def test_close_returns_promptly_with_a_stalled_request() -> None:
    fake = FakeModel().start()
    fake.script(default={"delay": 30})
    patient = openai.OpenAI(base_url=fake.base_url, api_key="any", max_retries=0, timeout=30)
    outcome: dict[str, Any] = {}

    def stalled() -> None:
        try:
            ask(patient, "hi")
        except Exception as exc:        # the test thread reports whatever happened
            outcome["error"] = exc

    thread = threading.Thread(target=stalled)
    thread.start()
    wait_for(lambda: len(fake.requests()) == 1)
    started = time.monotonic()
    fake.close()
    assert time.monotonic() - started < 2
    thread.join(timeout=3)
    # the stalled client gets the 503 "shutting down" if it got out before its connection was cut, else a
    # connection error: either way it is not left waiting
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), openai.APIConnectionError | openai.InternalServerError)
    wait_for(lambda: fake.requests()[0]["status"] == 503)   # the stall ended, not slept through
    fake.close()                                            # closing twice is harmless


def test_latency_and_delay_add(fake: FakeModel, client: openai.OpenAI) -> None:
    answer = requests.post(f"{fake.control_url}/latency", json={"ms": 150}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"ms": 150}
    started = time.monotonic()
    ask(client, "hi")
    assert 0.15 <= time.monotonic() - started < 1
    fake.script(queue=[{"delay": 0.15}])
    started = time.monotonic()
    assert ask(client, "hi") == ""
    assert 0.3 <= time.monotonic() - started < 1.2
    assert requests.post(f"{fake.control_url}/latency", json={"ms": -1}, timeout=5).status_code == 400
    fake.set_latency(0)
    started = time.monotonic()
    ask(client, "hi")
    assert time.monotonic() - started < 0.15


def test_reset_and_since(fake: FakeModel, client: openai.OpenAI) -> None:
    fake.script(queue=[{"content": "q"}], rules=[{"when": "hi", "content": "r"}], default={"content": "d"})
    fake.set_latency(50)
    ask(client, "one")
    ask(client, "two")
    ask(client, "three")
    assert [e["messages"][0]["content"] for e in fake.requests(since=1)] == ["two", "three"]
    since = requests.get(f"{fake.control_url}/requests", params={"since": 2}, timeout=5).json()["requests"]
    assert [e["seq"] for e in since] == [3]
    assert requests.get(f"{fake.control_url}/requests?since=x", timeout=5).status_code == 400
    assert requests.post(f"{fake.control_url}/reset", timeout=5).json() == {}
    assert fake.requests() == [] and fake.script() == {"queue": [], "rules": [], "default": {"content": DEFAULT}}
    started = time.monotonic()
    assert ask(client, "hi") == DEFAULT
    assert time.monotonic() - started < 0.05          # the latency went back to the constructor's 0
    assert [e["seq"] for e in fake.requests()] == [4]  # sequence numbers keep counting


# --------------------------------------------------------------------------------------------- the CLI


def test_the_cli_announces_serves_and_exits_on_sigterm() -> None:
    process = subprocess.Popen([sys.executable, "-m", "sim.llm", "--api-key", KEY], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready, "no ready line within 10 s"
        urls = json.loads(process.stdout.readline())
        assert set(urls) == {"base_url", "control"}
        assert urls["base_url"].startswith("http://127.0.0.1:") and urls["base_url"].endswith("/v1")
        assert urls["control"] == urls["base_url"].removesuffix("/v1") + "/_llm"
        client = openai.OpenAI(base_url=urls["base_url"], api_key=KEY, max_retries=0, timeout=5)
        assert ask(client, "hi") == DEFAULT
        assert len(requests.get(f"{urls['control']}/requests", timeout=5).json()["requests"]) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
