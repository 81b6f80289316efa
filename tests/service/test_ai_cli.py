"""`python xianyu.py ai test [ACCOUNT]`: a real subprocess asking the fake model over a real socket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from sim.llm import FakeModel

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-cli-test-7c1e9a4b2d6f"


def ai_test(tmp_path: Path, model: FakeModel, *args: str, key: str = SECRET) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "accounts.yml"
    config.write_text(yaml.safe_dump({
        "server": "demo",
        "settings": {"ai": {"base_url": model.base_url, "model": "sim-chat", "api_key_env": "SHOP_KEY", "timeout": 2}},
        "accounts": [{"id": "shop-a", "ai": {"enabled": True, "prompt": "你是客服"}}, {"id": "shop-b"}],
    }, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "SHOP_KEY": key}
    return subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "ai", "test", *args, "--config", str(config)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_it_prints_the_answer(tmp_path: Path) -> None:
    with FakeModel(api_key=SECRET) as model:
        model.script(queue=[{"content": "在的，亲"}])
        done = ai_test(tmp_path, model)
        [request] = model.requests()
    assert done.returncode == 0, done.stderr
    assert "shop-a: asking sim-chat" in done.stdout and "在的，亲" in done.stdout
    assert request["messages"][0]["content"] == "你是客服" and request["authorized"]
    assert SECRET not in done.stdout + done.stderr


def test_it_prints_the_endpoints_error(tmp_path: Path) -> None:
    with FakeModel(api_key=SECRET) as model:
        model.script(queue=[{"status": 500, "message": "model overloaded"}])
        failed = ai_test(tmp_path, model, "shop-a")
        refused = ai_test(tmp_path, model, key="sk-wrong-key-0000000000")
    assert failed.returncode == 1 and "HTTP 500" in failed.stdout and "model overloaded" in failed.stdout
    assert refused.returncode == 1 and "HTTP 401" in refused.stdout
    assert "sk-wrong-key-0000000000" not in refused.stdout + refused.stderr


def test_a_stalled_endpoint_is_a_timeout_and_nothing_configured_is_exit_2(tmp_path: Path) -> None:
    with FakeModel() as model:
        model.script(queue=[{"delay": 30}])
        stalled = ai_test(tmp_path, model)
        unknown: Any = ai_test(tmp_path, model, "shop-z")
    assert stalled.returncode == 1 and "no answer within 2 s" in stalled.stdout
    assert unknown.returncode == 2 and "no account 'shop-z'" in unknown.stderr
