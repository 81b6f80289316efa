"""The fake model's answers in OpenAI's wire format: completions, stream chunks, the model list and errors.

Shapes follow what api.openai.com sends (and what the `openai` client parses), including the nulls it sends, so a
client that works here finds no surprise in the real thing.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from sim.httpd import HttpResponse
from sim.llm_script import estimate_tokens

SSE_TYPE = "text/event-stream; charset=utf-8"
STREAM_PIECES = 4       # the content goes out in up to this many delta chunks

# Status → (type, code) as OpenAI names them; other statuses get the type of their class.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("requests", "rate_limit_exceeded"),
}


def error(status: int, message: str, code: str | None = None) -> HttpResponse:
    """`{"error": {"message", "type", "param": null, "code"}}` with the HTTP status."""
    kind, default_code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                                    None))
    body = {"error": {"message": message, "type": kind, "param": None, "code": code or default_code}}
    return HttpResponse.json(body, status)


def usage(prompt: int, content: str) -> dict[str, int]:
    completion = estimate_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _header(model: str, object_name: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": object_name, "created": int(time.time()),
            "model": model, "system_fingerprint": None}


def completion(model: str, content: str, prompt: int) -> HttpResponse:
    message = {"role": "assistant", "content": content, "refusal": None}
    body = _header(model, "chat.completion") | {
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(prompt, content),
    }
    return HttpResponse.json(body)


def _pieces(content: str) -> list[str]:
    size = max(1, math.ceil(len(content) / STREAM_PIECES))
    return [content[i:i + size] for i in range(0, len(content), size)]


def stream(model: str, content: str, prompt: int, include_usage: bool) -> HttpResponse:
    """The whole event stream as one body: a role chunk, the content deltas, the finish chunk, the usage chunk
    (only with include_usage; then every other chunk carries `"usage": null`, as OpenAI's do), `[DONE]`."""
    header = _header(model, "chat.completion.chunk")
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return header | {"choices": [choice]} | extra

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in _pieces(content)]
    chunks.append(chunk({}, "stop"))
    if include_usage:
        chunks.append(header | {"choices": [], "usage": usage(prompt, content)})
    lines = [f"data: {json.dumps(c, ensure_ascii=False, separators=(',', ':'))}\n\n" for c in chunks]
    lines.append("data: [DONE]\n\n")
    return HttpResponse(200, "".join(lines).encode("utf-8"), SSE_TYPE)


def model_list(models: list[str], created: int) -> HttpResponse:
    data = [{"id": name, "object": "model", "created": created, "owned_by": "sim"} for name in models]
    return HttpResponse.json({"object": "list", "data": data})
