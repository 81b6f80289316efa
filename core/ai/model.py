"""One model call through the `openai` package's synchronous client, to any OpenAI-compatible endpoint.

Clients are kept per (base URL, key) — each holds its own connection pool, so the second call to an endpoint
reuses the connection. Retries are off (`max_retries=0`): the reply chain's fall-through is the retry, and a
buyer should not wait for three attempts. `openai` is imported by `warm` (the service
starts with an account using AI) or on the first call, so a service without AI never loads it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.ai.errors import ModelFailed
from core.config.ai_schema import AiSettings
from core.goofish.cookies import mask

# openai needs some key; local servers (Ollama, vLLM) ignore it.
NO_KEY = "not-needed"


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    structured: bool = False  # the endpoint was asked for JSON (and so `text` may be a JSON object)


def api_key(settings: AiSettings, env: Mapping[str, str] = os.environ) -> str | None:
    if settings.api_key:
        return settings.api_key
    return env.get(settings.api_key_env, "").strip() or None if settings.api_key_env else None


class ModelClient:
    def __init__(self) -> None:
        self._clients: dict[tuple[str | None, str], Any] = {}
        self._plain: set[str | None] = set()  # endpoints that refused response_format: asked in plain text since
        self._lock = threading.Lock()

    def complete(self, settings: AiSettings, messages: Sequence[Mapping[str, str]],
                 timeout: float | None = None) -> Completion:
        """The model's answer; raises ModelFailed (timeout, HTTP error, empty answer)."""
        import openai  # only when a call is made (see the module docstring)

        key = api_key(settings) or NO_KEY
        structured = settings.structured and settings.base_url not in self._plain
        body: dict[str, Any] = {"model": settings.model, "messages": list(messages),
                                "max_tokens": settings.max_tokens}
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if structured:
            body["response_format"] = {"type": "json_object"}
        seconds = timeout or settings.timeout
        client = self._client(settings.base_url, key)
        try:
            # The client's own POST (its auth, base URL, timeouts and typed errors) with the JSON read here:
            # `chat.completions.create` spent twice the CPU (2.5 against 0.9 ms a call) walking the request's
            # TypedDicts and building the answer's models, CPU taken from every socket thread under the GIL.
            raw = client.post("/chat/completions", body=body, cast_to=str, options={"timeout": seconds})
        except openai.BadRequestError as exc:
            if structured and "response_format" in str(exc):
                with self._lock:
                    self._plain.add(settings.base_url)
                return self.complete(settings, messages, timeout)
            raise ModelFailed(_reason(exc, key)) from None
        except openai.APITimeoutError:
            raise ModelFailed(f"no answer within {seconds:g} s") from None
        except openai.OpenAIError as exc:
            raise ModelFailed(_reason(exc, key)) from None
        return _completion(raw, structured)

    def warm(self, settings: AiSettings) -> None:
        """Import openai and build the endpoint's client now (at start-up, before gc.freeze): the first buyer
        would otherwise wait half a second for the import, and its objects would stay in the collector's reach."""
        self._client(settings.base_url, api_key(settings) or NO_KEY)

    def _client(self, base_url: str | None, key: str) -> Any:
        import openai

        with self._lock:
            client = self._clients.get((base_url, key))
            if client is None:
                client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
                self._clients[(base_url, key)] = client
            return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def _completion(raw: str, structured: bool) -> Completion:
    """The answer's text and token counts from a chat-completion JSON body; ModelFailed for anything else."""
    try:
        answer = json.loads(raw)
        choices = answer.get("choices") or [{}]
        text = ((choices[0].get("message") or {}).get("content") or "").strip()
        usage = answer.get("usage") or {}
        return Completion(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                          structured)
    except (ValueError, AttributeError, TypeError, IndexError):
        raise ModelFailed(f"not a chat completion: {raw[:80]!r}") from None


def _reason(exc: Exception, key: str) -> str:
    """The endpoint's own words (status and message), with the key masked wherever it is quoted."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
    text = str(message or exc).replace(key, mask(key)) if key != NO_KEY else str(message or exc)
    return f"{'HTTP ' + str(status) + ': ' if status else ''}{text}"[:300]


def parse_structured(text: str) -> tuple[str, dict[str, Any]]:
    """(the reply to send, the rest) from a JSON answer {intent, price, reply}; a plain answer is the reply."""
    stripped = text.strip()
    if stripped.startswith("```"):  # some models fence their JSON
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(stripped)
    except ValueError:
        return text.strip(), {}
    if not isinstance(data, dict):
        return text.strip(), {}
    reply = data.get("reply")
    return (reply.strip() if isinstance(reply, str) else ""), data
