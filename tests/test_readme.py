"""The README documents every accounts.yml key and setting, with its default (they are generated from the
schema's own tables, so this fails when a key is added without documentation)."""

from pathlib import Path

from core.config_schema import FILE_KEYS_DOC, SETTINGS_DOC

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default():
    for doc in SETTINGS_DOC:
        assert f"| `{doc.name}` | {doc.default} |" in README, doc.name


def test_every_file_key_is_documented():
    for doc in FILE_KEYS_DOC:
        assert f"| `{doc.key}` | {doc.default} |" in README, doc.key


def test_readme_has_the_two_commands():
    assert "pip install -r requirements.txt && python xianyu.py" in README
    assert "bash .ci/run" in README
