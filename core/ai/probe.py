"""``python xianyu.py ai test [ACCOUNT]``: one prompt to the configured endpoint, and its answer or the endpoint's
own error — the first thing to run after writing ``ai:`` into accounts.yml."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from core.ai.errors import ModelFailed
from core.ai.model import ModelClient, api_key
from core.config import Config
from core.config.ai_schema import AiSettings
from core.goofish.cookies import mask

PROBE_TEXT = "你好，这个还在吗？"


def settings_to_probe(config: Config, account_id: str | None) -> tuple[str, AiSettings] | str:
    """(who, the AI settings to try), or why there is nothing to try."""
    if account_id is not None:
        account = config.find(account_id)
        if account is None:
            return f"no account {account_id!r} in {config.path}"
        return account_id, account.ai.ai
    enabled = next((a for a in config.accounts if a.ai.ai.enabled), None)
    if enabled is not None:
        return enabled.id, enabled.ai.ai
    return "settings.ai", config.ai.ai


def probe(config: Config, account_id: str | None, text: str = PROBE_TEXT, out: TextIO = sys.stdout) -> int:
    """0: the endpoint answered; 1: it failed (its error printed); 2: nothing configured to try."""
    chosen = settings_to_probe(config, account_id)
    if isinstance(chosen, str):
        print(f"xianyu.py ai test: {chosen}", file=sys.stderr)
        return 2
    who, settings = chosen
    if not settings.model:
        print(f"xianyu.py ai test: {who}: no ai.model configured", file=sys.stderr)
        return 2
    if settings.base_url is None and config.server.mode == "demo":
        print(f"xianyu.py ai test: {who}: with server: demo and no ai.base_url the demo's own scripted model "
              "answers (while the service runs); set ai.base_url to test a real endpoint", file=sys.stderr)
        return 2
    key = api_key(settings)
    print(f"{who}: asking {settings.model} at {settings.base_url or 'api.openai.com'} "
          f"(key {mask(key) if key else 'none'}, timeout {settings.timeout:g} s)", file=out)
    started = time.monotonic()
    client = ModelClient()
    try:
        completion = client.complete(settings, [{"role": "system", "content": settings.prompt or "你是闲鱼卖家的客服。"},
                                                {"role": "user", "content": text}])
    except ModelFailed as exc:
        print(f"failed after {time.monotonic() - started:.1f} s: {exc.reason}", file=out)
        return 1
    finally:
        client.close()
    print(f"answered in {time.monotonic() - started:.2f} s ({completion.prompt_tokens} prompt + "
          f"{completion.completion_tokens} completion tokens):", file=out)
    print(completion.text or "(an empty answer: the AI rule would pass to the next rule)", file=out)
    return 0 if completion.text else 1
