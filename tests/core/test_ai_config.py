"""The AI keys of accounts.yml: design.md §3.5's example loads, levels merge key by key, mistakes name FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError

CONTRACT = """\
server: demo
settings:
  ai:
    base_url: http://127.0.0.1:11434/v1
    model: qwen2.5:7b
    api_key_env: OPENAI_API_KEY
    mode: reply
    timeout: 20
accounts:
  - id: shop-a
    ai: {enabled: true, prompt: "你是数码小铺的客服……"}
    bargain: {floor: "85%", max_rounds: 3}
    items:
      - id: "900052644277"
        bargain: {floor: "80"}
        ai: {prompt: "这台相机……"}
  - id: shop-b
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_contract_example_loads_and_merges_by_level(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT), env={"OPENAI_API_KEY": "k"})
    shop_a, shop_b = config.accounts
    ai = shop_a.ai.ai
    assert ai.enabled and ai.model == "qwen2.5:7b" and ai.base_url == "http://127.0.0.1:11434/v1"
    assert ai.prompt == "你是数码小铺的客服……" and ai.item_prompt("900052644277") == "这台相机……"
    assert ai.timeout == 20 and ai.mode == "reply" and ai.api_key_env == "OPENAI_API_KEY"
    assert shop_a.ai.terms_for("900052644277").floor == "80"
    assert shop_a.ai.terms_for("900052644277").max_rounds == 3  # the account's, under the item's floor
    assert shop_a.ai.terms_for("other").floor == "85%"
    assert not shop_b.ai.ai.enabled and shop_b.ai.ai.model == "qwen2.5:7b"  # defaults, not enabled
    assert shop_b.ai.terms_for("900052644277").floor is None  # no floor: no discount


def test_hours_handoff_cap_cost_and_item_switches(tmp_path: Path) -> None:
    text = CONTRACT.replace('ai: {enabled: true, prompt: "你是数码小铺的客服……"}',
                            'ai: {enabled: true, hours: ["09:00-12:00", "22:00-02:00"], handoff: [找老板], '
                            'daily_tokens: 5000, cost: {input: 2, output: 8}, mode: suggest}')
    text = text.replace('ai: {prompt: "这台相机……"}', "ai: {enabled: false}")
    ai = load_config(write(tmp_path, text), env={"OPENAI_API_KEY": "k"}).account("shop-a").ai.ai
    assert ai.hours == ((540, 720), (1320, 120)) and ai.handoff == ("找老板",) and ai.mode == "suggest"
    assert ai.open_at(600) and ai.open_at(1400) and ai.open_at(60) and not ai.open_at(800)
    assert ai.daily_tokens == 5000 and (ai.cost_input, ai.cost_output) == (2, 8)
    assert not ai.on("900052644277") and ai.on("900052644278")


@pytest.mark.parametrize(("edit", "line", "message"), [
    (('model: qwen2.5:7b', 'model: ""'), 5, "settings.ai.model: must not be empty"),
    (("mode: reply", "mode: replies"), 7, "settings.ai.mode: one of reply, suggest"),
    (("timeout: 20", "timeout: 0"), 8, "settings.ai.timeout: must be between 1 and 300"),
    (('floor: "85%"', 'floor: "85 percent"'), 12, "accounts[0].bargain.floor: expected yuan"),
    (('floor: "80"', 'floor: "120%"'), 15, "accounts[0].items[0].bargain.floor: a share of the listed price"),
    (("max_rounds: 3", "max_rounds: 99"), 12, "accounts[0].bargain.max_rounds: must be between 1 and 20"),
    (("    ai: {enabled: true,", "    ai: {enabled: true, temprature: 1,"), 11, "accounts[0].ai.temprature"),
    (('max_rounds: 3}', 'max_rounds: 3, schedule: ["50%", "100%"]}'), 12,
     "accounts[0].bargain: the schedule needs one share per round (3), got 2"),
    (('max_rounds: 3}', 'max_rounds: 3, schedule: ["50%", "40%", "100%"]}'), 12,
     "accounts[0].bargain: the schedule cannot take back a concession"),
])
def test_mistakes_name_the_file_line_and_key(tmp_path: Path, edit: tuple[str, str], line: int, message: str) -> None:
    path = write(tmp_path, CONTRACT.replace(*edit))
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={"OPENAI_API_KEY": "k"})
    assert f"{path}:{line}: {message}" in str(raised.value)


def test_an_enabled_rule_needs_a_model_and_its_key_variable(tmp_path: Path) -> None:
    path = write(tmp_path, CONTRACT.replace("    model: qwen2.5:7b\n", ""))
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    text = str(raised.value)
    assert f"{path}:10: accounts[0].ai.model: missing" in text
    assert f"{path}:10: accounts[0].ai.api_key_env: environment variable OPENAI_API_KEY is not set" in text


def test_a_key_written_in_the_file_is_never_shown(tmp_path: Path) -> None:
    text = CONTRACT.replace("api_key_env: OPENAI_API_KEY", "api_key: sk-plain-secret-123456")
    config = load_config(write(tmp_path, text), env={})
    account = config.account("shop-a")
    assert account.ai.ai.api_key == "sk-plain-secret-123456"
    assert "sk-plain-secret" not in repr(account) and "sk-plain-secret" not in repr(config)
    broken = write(tmp_path, text.replace("api_key: sk-plain-secret-123456", "api_key: [sk-plain-secret-123456]"))
    with pytest.raises(ConfigError) as raised:
        load_config(broken, env={})
    assert "sk-plain-secret" not in str(raised.value)


def test_reply_filter_patterns_are_checked(tmp_path: Path) -> None:
    text = CONTRACT.replace("settings:\n", "settings:\n  reply_filter: {patterns: ['淘宝店', '(unclosed']}\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={"OPENAI_API_KEY": "k"})
    assert f"{path}:3: settings.reply_filter.patterns[1]:" in str(raised.value)
    fixed = write(tmp_path, text.replace(", '(unclosed'", ""))
    assert load_config(fixed, env={"OPENAI_API_KEY": "k"}).account("shop-b").ai.reply_filter.patterns == ("淘宝店",)
