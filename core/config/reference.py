"""The README's accounts.yml reference, rendered from keys.py: ``python -m core.config.reference`` prints it.

README.md holds this output verbatim between its BEGIN/END generated markers, and tests/test_readme.py
fails when the two differ: after changing a key or a setting, run the command and paste its output there.
Nothing else in the package imports this module, so running it does not import it twice.
"""

from core.config.keys import FILE_KEYS_DOC, SETTINGS_DOC
from core.config.templates import DELIVERY_PLACEHOLDERS, REPLY_PLACEHOLDERS


def reference_markdown() -> str:
    """The README's reference tables: every file key, then every setting."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{d.key}` | {d.default} | {d.meaning} |" for d in FILE_KEYS_DOC]
    lines += ["", "| setting | default | range | per account | meaning |", "|---|---|---|---|---|"]
    lines += [f"| `{d.name}` | {d.default} | {d.range} | {'yes' if d.per_account else 'no'} | {d.meaning} |"
              for d in SETTINGS_DOC]
    placeholders = ", ".join(f"`{{{name}}}`" for name in REPLY_PLACEHOLDERS)
    delivery = ", ".join(f"`{{{name}}}`" for name in DELIVERY_PLACEHOLDERS)
    lines += ["", f"Reply templates may use {placeholders}; delivery templates {delivery}. "
              "Write `{{` and `}}` for literal braces."]
    return "\n".join(lines)


__doc__ = f"{__doc__}\n{reference_markdown()}\n"

if __name__ == "__main__":
    print(reference_markdown())
