import io
import logging

from core.logsink import setup_logging
from core.redact import redact

COOKIE = ("unb=2202640918079; _m_h5_tk=cc382a584eaa9c3199f16b836d65261b_1754570160098; "
          "cookie2=1f2e3d4c5b6a79880716253443526170; x5sec=7b22733b32223a223130646463")


def test_cookie_values_are_masked():
    text = redact(f"connecting with Cookie: {COOKIE}")
    for secret in ("2202640918079", "cc382a584eaa9c3199f16b836d65261b", "1f2e3d4c5b6a79880716253443526170",
                   "7b22733b32223a223130646463"):
        assert secret not in text
    assert "_m_h5_tk=" in text and "cookie2=" in text


def test_json_tokens_are_masked_and_plain_text_is_kept():
    text = redact('{"accessToken": "oAFaB3xY9zQ0pLmN", "text": "包邮吗 token 在吗"}')
    assert "oAFaB3xY9zQ0pLmN" not in text
    assert "包邮吗 token 在吗" in text


def test_log_lines_and_tracebacks_are_masked():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("INFO", stream)
    logger = logging.getLogger("test.redact")
    try:
        logger.info("request failed for %s", COOKIE)
        try:
            raise RuntimeError(f"bad cookie {COOKIE}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    output = stream.getvalue()
    assert "cc382a584eaa9c3199f16b836d65261b" not in output
    assert "1f2e3d4c5b6a79880716253443526170" not in output
    assert "boom" in output and "RuntimeError" in output


def test_bare_api_keys_are_masked() -> None:
    text = redact("HTTP 401: Incorrect API key provided: sk-test-4f9c2b7e1d8a6035; Authorization: Bearer abcdefgh12345")
    assert "4f9c2b7e1d8a6035" not in text and "abcdefgh12345" not in text
    assert "Incorrect API key provided" in text
