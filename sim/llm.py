"""A fake OpenAI-compatible model server, so tests, benchmarks and the demo exercise AI replies offline.

It speaks OpenAI's wire format on 127.0.0.1 — `POST /v1/chat/completions` (plain and `stream: true` server-sent
events, with `stream_options.include_usage`), `GET /v1/models`, OpenAI-shaped errors, an optional API key — so the
real `openai` client (or any other OpenAI-compatible one) talks to it unchanged, with `base_url` pointed here.
No real model and no network: what it answers is *scripted* by the test through the control API `/_llm/...` (or
the same methods in process), and every completion request is logged for the test to inspect.

Scripting. A *step* is a JSON object with any of:

- `content`: the answer text ("" answers an empty text; a step with no content-making key answers "");
- `status` (+ `message`): answer that HTTP error status (400..599) in OpenAI's error shape instead;
- `delay`: seconds to wait first — a stall that holds only its own request, and ends at `close()`;
- `obey: true`: agree with the buyer's last message: "好的，就按{N}元给你" for a number in it (¥/元/块 optional,
  a marked price wins over a bare number), else "好的，听你的";
- `json`: an object; the answer is its `json.dumps(..., ensure_ascii=False)`;
- `echo: true`: the answer is the last user message's text;
- `when` (rules only): a substring of the last user message that makes the rule apply.

Of json / echo / obey / content, the first present in that order decides the text. A request takes the first
queued step (used up), else the first rule whose `when` is in the last user message, else the default (initially
`{"content": "好的，亲，有什么可以帮您？"}`). Latency (`latency_ms`, `set_latency`) is added to every scripted
answer, errors included, on top of a step's `delay`; auth and malformed-request errors answer at once.

Token counts are an estimate, not a tokenizer: characters / 2 rounded up (0 for "", at least 1 otherwise),
prompt tokens summed over every message's text. `max_tokens`, `temperature` and `response_format` are logged,
not enforced: the script decides the answer.

The request log never holds the Authorization header or the key, only whether the request passed the key check.

Run it: `python -m sim.llm [--host 127.0.0.1] [--port 0] [--api-key KEY] [--latency-ms N]`, or in process::

    with FakeModel(api_key="k") as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="k")
"""

from __future__ import annotations

import argparse
import copy
import hmac
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from sim import llm_wire as wire
from sim.httpd import HttpRequest, HttpResponse, SimHttpServer
from sim.llm_script import Script, ScriptError, last_user_text, prompt_tokens, step_content

log = logging.getLogger("sim.llm")

MODEL = "sim-chat"      # listed by /v1/models besides every model a request named


class BadRequest(Exception):
    """A malformed request: answered with 400 and this message."""


def _control_error(message: str, status: int = 400) -> HttpResponse:
    # The control API answers like the sim's /_sim one: {"error": "..."}.
    return HttpResponse.json({"error": message}, status)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _check_completion(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("you must provide a model parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a 'role'")
    if not isinstance(body.get("stream", False), bool):
        raise BadRequest("'stream' must be a boolean")


def _parse_completion(request: HttpRequest) -> tuple[dict[str, Any] | None, str | None]:
    """The body (None if it is no JSON object) and what is wrong with it (None if nothing)."""
    try:
        body = _body(request)
    except BadRequest as exc:
        return None, str(exc)
    try:
        _check_completion(body)
    except BadRequest as exc:
        return body, str(exc)
    return body, None


def _log_entry(seq: int, body: dict[str, Any] | None, authorized: bool) -> dict[str, Any]:
    body = body or {}
    return {
        "seq": seq, "at_ms": int(time.time() * 1000), "model": body.get("model"),
        "messages": copy.deepcopy(body.get("messages")),
        "max_tokens": body.get("max_completion_tokens", body.get("max_tokens")),
        "response_format": copy.deepcopy(body.get("response_format")), "stream": body.get("stream") is True,
        "authorized": authorized, "status": None,     # None while the answer is pending (a stall)
    }


class FakeModel:
    """The fake model server; `start()` serves on a daemon thread, `close()` (or the `with` block) stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 latency_ms: float = 0) -> None:
        self._address = (host, port)
        self._api_key = api_key
        self._initial_latency = float(latency_ms)
        self._lock = threading.Lock()
        self._closing = threading.Event()       # wakes every stalled request at close()
        self._server: SimHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._created = int(time.time())
        self._models: list[str] = [MODEL]
        self._seq = 0
        self._reset_locked()

    # ----------------------------------------------------------------------------------------- lifecycle

    def start(self) -> FakeModel:
        if self._server is None:
            self._server = SimHttpServer(self._address, None)
            self._server.router = self._route
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="sim-llm",
                                            daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, promptly: stalled requests wake up (and their connections are cut)."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeModel is not started")
        return int(self._server.server_address[1])

    @property
    def _root(self) -> str:
        host = self._address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self._root}/v1"

    @property
    def control_url(self) -> str:
        return f"{self._root}/_llm"

    # ----------------------------------------------------------------------------------------- control

    def script(self, queue: list[dict[str, Any]] | None = None, rules: list[dict[str, Any]] | None = None,
               default: dict[str, Any] | None = None, append: bool = False) -> dict[str, Any]:
        """Replace the given parts of the script (`append=True`: add to the queue); returns the whole script.
        Raises ScriptError (a ValueError) for a malformed step, changing nothing."""
        with self._lock:
            self._script.update(queue, rules, default, append)
            return self._script_view()

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The logged completion requests with seq > since, oldest first (copies)."""
        with self._lock:
            return [copy.deepcopy(entry) for entry in self._log if entry["seq"] > since]

    def reset(self) -> None:
        """Back to a fresh start: default step, empty queue, rules and log, the constructor's latency. Sequence
        numbers keep counting, so a `since` kept from before stays meaningful."""
        with self._lock:
            self._reset_locked()

    def set_latency(self, ms: float) -> None:
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0:
            raise ValueError("latency must be a number of milliseconds >= 0")
        with self._lock:
            self._latency = float(ms)

    def _reset_locked(self) -> None:
        self._script = Script()
        self._log: list[dict[str, Any]] = []
        self._latency = self._initial_latency

    def _script_view(self) -> dict[str, Any]:
        return copy.deepcopy({"queue": list(self._script.queue), "rules": self._script.rules,
                              "default": self._script.default})

    # ----------------------------------------------------------------------------------------- routing

    def _route(self, request: HttpRequest) -> HttpResponse:
        routes: dict[str, dict[str, Callable[[HttpRequest], HttpResponse]]] = {
            "/v1/chat/completions": {"POST": self._completions},
            "/v1/models": {"GET": self._list_models},
            "/_llm/script": {"POST": self._post_script, "GET": lambda _: self._get_script()},
            "/_llm/requests": {"GET": self._get_requests},
            "/_llm/reset": {"POST": self._post_reset},
            "/_llm/latency": {"POST": self._post_latency},
        }
        path = request.path.rstrip("/") or "/"
        methods = routes.get(path)
        if methods is None:
            return wire.error(404, f"Unknown request URL: {request.method} {request.path}")
        handler = methods.get(request.method)
        if handler is None:
            return wire.error(405, f"{request.method} is not allowed on {path}")
        try:
            return handler(request)
        except Exception:
            log.exception("error serving %s %s", request.method, request.path)
            return wire.error(500, "the fake model failed (see its log)")

    def _authorized(self, request: HttpRequest) -> bool:
        if self._api_key is None:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # compare_digest: no timing hint about the key, even in a fake (it may be started with a real-looking one)
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._api_key.encode())

    # ----------------------------------------------------------------------------------------- the model

    def _list_models(self, request: HttpRequest) -> HttpResponse:
        if not self._authorized(request):
            return wire.error(401, "Incorrect API key provided.")
        with self._lock:
            return wire.model_list(list(self._models), self._created)

    def _completions(self, request: HttpRequest) -> HttpResponse:
        authorized = self._authorized(request)
        body, problem = _parse_completion(request)
        entry = self._record(body, authorized)
        if not authorized:      # a wrong key answers 401 whatever the body is, as OpenAI does
            return self._finish(entry, wire.error(401, "Incorrect API key provided.", "invalid_api_key"))
        if body is None or problem is not None:
            return self._finish(entry, wire.error(400, problem or "bad request"))
        return self._finish(entry, self._answer(body))

    def _record(self, body: dict[str, Any] | None, authorized: bool) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = _log_entry(self._seq, body, authorized)
            self._log.append(entry)
            if isinstance(entry["model"], str) and entry["model"] not in self._models:
                self._models.append(entry["model"])
            return entry

    def _finish(self, entry: dict[str, Any], response: HttpResponse) -> HttpResponse:
        with self._lock:
            entry["status"] = response.status
        return response

    def _answer(self, body: dict[str, Any]) -> HttpResponse:
        messages = body["messages"]
        with self._lock:
            step = copy.deepcopy(self._script.choose(last_user_text(messages)))
            wait = self._latency / 1000 + step.get("delay", 0)
        # An Event wait, not time.sleep: close() ends every stall at once instead of leaving threads asleep.
        if wait > 0 and self._closing.wait(wait):
            return wire.error(503, "the fake model is shutting down")
        if "status" in step:
            return wire.error(step["status"], step.get("message") or f"scripted error {step['status']}")
        content = step_content(step, messages)
        prompt = prompt_tokens(messages)
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return wire.stream(body["model"], content, prompt, include_usage)
        return wire.completion(body["model"], content, prompt)

    # ----------------------------------------------------------------------------------------- control routes

    def _get_script(self) -> HttpResponse:
        with self._lock:
            return HttpResponse.json(self._script_view())

    def _post_script(self, request: HttpRequest) -> HttpResponse:
        try:
            body = _body(request)
            unknown = set(body) - {"queue", "rules", "default", "append"}
            if unknown:
                raise ScriptError(f"unknown script keys: {', '.join(sorted(unknown))}")
            if not isinstance(body.get("append", False), bool):
                raise ScriptError("'append' must be a boolean")
            return HttpResponse.json(self.script(body.get("queue"), body.get("rules"), body.get("default"),
                                                 body.get("append", False)))
        except (BadRequest, ScriptError) as exc:
            return _control_error(str(exc))

    def _get_requests(self, request: HttpRequest) -> HttpResponse:
        since = request.query.get("since", "0")
        if not since.isdigit():
            return _control_error("since must be a non-negative integer")
        return HttpResponse.json({"requests": self.requests(int(since))})

    def _post_reset(self, request: HttpRequest) -> HttpResponse:
        self.reset()
        return HttpResponse.json({})

    def _post_latency(self, request: HttpRequest) -> HttpResponse:
        try:
            ms = _body(request).get("ms")
            self.set_latency(ms)
        except (BadRequest, ValueError) as exc:
            return _control_error(str(exc))
        return HttpResponse.json({"ms": ms})


# --------------------------------------------------------------------------------------------- the CLI


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.llm",
                                     description="A fake OpenAI-compatible model server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--api-key", default=None, help="require this Bearer key (default: accept any)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every completion")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with FakeModel(args.host, args.port, args.api_key, args.latency_ms) as fake:
        print(json.dumps({"base_url": fake.base_url, "control": fake.control_url}), flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
