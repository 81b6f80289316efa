"""``python xianyu.py notify test`` as a user runs it, against a local webhook receiver: OK per channel, the
provider's own error when it refuses, a channel by name or a URL on the command line, and no token printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.webhooks import Receiver

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "CLItoken7788"


def _notify_test(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "notify", "test", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def _config(tmp_path: Path, channels: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(f"server: demo\nnotify: {channels}\naccounts: [{{id: shop-a}}]\n", encoding="utf-8")
    return path


def test_every_channel_gets_the_test_message_and_a_refusal_prints_the_providers_error(tmp_path: Path) -> None:
    with Receiver() as hook:
        config = _config(tmp_path, f'["{hook.url("json", "/send/" + TOKEN)}", '
                                   f'{{url: "{hook.url("ntfy", "/shop")}", name: phone}}]')
        done = _notify_test(config)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "json#1 (json://127.0.0.1" in done.stdout and ": OK" in done.stdout and "phone (ntfy://" in done.stdout
        assert sorted(m.title for m in hook.messages()) == ["xianyu.py: test notification"] * 2
        assert "shop-a" in hook.messages()[0].message

        hook.mode = "fail"
        refused = _notify_test(config, "json#1")
        assert refused.returncode == 1
        assert "json#1" in refused.stdout and "FAILED" in refused.stdout and "phone" not in refused.stdout
        assert "keywords not in content" in refused.stdout and "error=500" in refused.stdout
        assert TOKEN not in refused.stdout + refused.stderr + done.stdout + done.stderr

        hook.mode = "ok"
        given = _notify_test(config, hook.url("json", "/other"))
        assert given.returncode == 0 and [m.path for m in hook.messages()][-1] == "/other"


def test_an_unknown_channel_or_no_channels_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path, '["json://127.0.0.1:9/hook"]')
    unknown = _notify_test(config, "pager")
    assert unknown.returncode == 2 and "no channel named 'pager'" in unknown.stderr and "json#1" in unknown.stderr
    down = _notify_test(config)
    assert down.returncode == 1 and "Connection refused" in down.stdout
    empty = _notify_test(_config(tmp_path, "[]"))
    assert empty.returncode == 2 and "no notify: channels" in empty.stderr
