"""Every number accounts.yml accepts has an upper bound and must be finite (issue 12 §3.1).

Values `check` used to accept crashed or hung start-up (an OverflowError in the scheduler, an endless
backoff, an account that never started); each is now a FILE:LINE: key.path: message line.
"""

import math
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest

from core.config import PER_ACCOUNT_SETTINGS, ConfigError, Settings, load_config
from core.config.schema import DELIVERY_LIMITS

ROOT = Path(__file__).resolve().parents[2]

# The values of issue 12, each with the line `check` must print (the file is written below).
ISSUE_VALUES = {
    "heartbeat_interval: 1.0e+300": "settings.heartbeat_interval: must be at most 300, got 1e+300",
    "max_message_age: 1e20": "settings.max_message_age: expected an integer, got '1e20'",
    "start_spread_seconds: 1e9": "settings.start_spread_seconds: must be at most 3600, got 1e+09",
    "handler_threads: 100000000": "settings.handler_threads: must be at most 256, got 100000000",
}

NUMERIC_SETTINGS = [f for f in fields(Settings) if f.metadata["minimum"] is not None]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return [str(issue) for issue in caught.value.errors]


def setting_file(tmp_path: Path, line: str) -> Path:
    return write(tmp_path, f"server: demo\nsettings:\n  {line}\naccounts:\n  - id: a\n")


@pytest.mark.parametrize("line", ISSUE_VALUES)
def test_issue_values_are_refused_by_loading(tmp_path: Path, line: str) -> None:
    path = setting_file(tmp_path, line)
    assert issues(path) == [f"{path}:3: {ISSUE_VALUES[line]}"]


@pytest.mark.parametrize("line", ISSUE_VALUES)
def test_issue_values_are_refused_by_check(tmp_path: Path, line: str) -> None:
    path = setting_file(tmp_path, line)
    done = subprocess.run([sys.executable, "xianyu.py", "check", "--config", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}:3: {ISSUE_VALUES[line]}" in done.stderr.splitlines()
    assert "Traceback" not in done.stderr


def test_every_numeric_setting_has_a_maximum_above_its_default() -> None:
    for f in NUMERIC_SETTINGS:
        assert f.metadata["maximum"] is not None, f.name
        assert f.metadata["minimum"] <= f.default <= f.metadata["maximum"], f.name


def _above(maximum: float, kind: type) -> str:
    return str(int(maximum) + 1) if kind is int else repr(float(maximum) + 0.5)


def _where(name: str) -> list[str]:
    return ["settings", "account"] if name in PER_ACCOUNT_SETTINGS else ["settings"]


# Settings bounded by another one (settings_conflicts): their bound is tried beside the other's largest value.
COMPANION = {"token_refresh_jitter": "token_refresh_interval: 86400", "reconnect_backoff_base": "reconnect_backoff_cap: 3600"}


def _settings_file(tmp_path: Path, name: str, value: str, where: str) -> Path:
    lines = [f"{name}: {value}"] + ([COMPANION[name]] if name in COMPANION else [])
    if where == "settings":
        body = "".join(f"\n  {line}" for line in lines)
        return write(tmp_path, f"server: demo\nsettings:{body}\naccounts:\n  - id: a\n")
    body = "".join(f"\n    {line}" for line in lines)
    return write(tmp_path, f"server: demo\naccounts:\n  - id: a{body}\n")


SETTING_CASES = [(f.name, where) for f in NUMERIC_SETTINGS for where in _where(f.name)]


@pytest.mark.parametrize(("name", "where"), SETTING_CASES)
def test_setting_bound_is_accepted_and_above_it_refused(tmp_path: Path, name: str, where: str) -> None:
    f = Settings.__dataclass_fields__[name]
    kind, maximum = (int if f.type in (int, "int") else float), f.metadata["maximum"]
    line, key = (3, f"settings.{name}") if where == "settings" else (4, f"accounts[0].{name}")

    config = load_config(_settings_file(tmp_path, name, str(maximum), where), env={})
    value = getattr(config.settings if where == "settings" else config.accounts[0].effective, name)
    assert value == maximum

    path = _settings_file(tmp_path, name, _above(maximum, kind), where)
    assert issues(path) == [f"{path}:{line}: {key}: must be at most {maximum}, got {_above(maximum, kind)}"]


@pytest.mark.parametrize("name", [f.name for f in NUMERIC_SETTINGS if f.type in (float, "float")])
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_float_settings_must_be_finite(tmp_path: Path, name: str, value: str) -> None:
    path = _settings_file(tmp_path, name, value, "settings")
    found = issues(path)
    assert len(found) == 1 and found[0].startswith(f"{path}:3: settings.{name}: must be a finite number"), found


def test_exponent_written_yaml_12_style_is_a_number(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads `1e2` as a string; a seller means a hundred.
    config = load_config(setting_file(tmp_path, "heartbeat_interval: 1e2"), env={})
    assert config.settings.heartbeat_interval == 100.0


DELIVERY_RULE = {
    "delay": "{default: true, text: hi, delay: VALUE}",
    "timeout": "{default: true, api: 'https://example.com/code', timeout: VALUE}",
    "retries": "{default: true, api: 'https://example.com/code', retries: VALUE}",
    "low_stock": "{default: true, stock: cards, low_stock: VALUE}",
}


def test_every_numeric_delivery_option_is_covered() -> None:
    assert set(DELIVERY_RULE) == set(DELIVERY_LIMITS)


@pytest.mark.parametrize("name", sorted(DELIVERY_LIMITS))
def test_delivery_bound_is_accepted_and_above_it_refused(tmp_path: Path, name: str) -> None:
    maximum = DELIVERY_LIMITS[name][1]
    kind = int if name in ("retries", "low_stock") else float

    def rule_file(value: str) -> Path:
        rule = DELIVERY_RULE[name].replace("VALUE", value)
        return write(tmp_path, f"server: demo\naccounts:\n  - id: a\n    delivery:\n      - {rule}\n")

    config = load_config(rule_file(str(maximum)), env={})
    assert getattr(config.accounts[0].delivery[0], name) == maximum
    path = rule_file(_above(maximum, kind))
    found = issues(path)
    assert found == [f"{path}:5: accounts[0].delivery[0].{name}: must be at most {maximum}, got {_above(maximum, kind)}"]
    if kind is float:
        path = rule_file(".inf")
        assert issues(path) == [f"{path}:5: accounts[0].delivery[0].{name}: must be a finite number, got inf"]


def test_defaults_of_delivery_options_are_within_their_bounds() -> None:
    from core.config import DeliveryRule

    rule = DeliveryRule("text", "hi")
    for name, (minimum, maximum) in DELIVERY_LIMITS.items():
        assert minimum <= getattr(rule, name) <= maximum, name
    assert not math.isinf(maximum)
