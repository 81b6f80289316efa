"""CookieJar: parsing, Set-Cookie merging (newest wins, deletion, Expires commas), masking."""

from __future__ import annotations

import threading

import requests
from urllib3 import HTTPResponse

from core.goofish.cookies import CookieJar, mask, set_cookie_headers

SEED = "unb=2202640918079; cookie2=1f2e3d4c5b6a79881f2e3d4c5b6a7988; _m_h5_tk=0123456789abcdef0123456789abcdef_1754570160098; cna=AbCdEf=="


def test_parse_keeps_order_values_with_equals_and_skips_junk() -> None:
    jar = CookieJar.parse(SEED + ";  ; novalue; t=1")
    assert jar.names() == ["unb", "cookie2", "_m_h5_tk", "cna", "t"]
    assert jar.get("cna") == "AbCdEf=="
    assert jar.unb == "2202640918079"
    assert jar.get("missing") is None
    assert jar.get("missing", "d") == "d"


def test_parse_duplicate_names_newest_wins() -> None:
    jar = CookieJar.parse("a=1; b=2; a=3")
    assert jar.to_header() == "a=3; b=2"


def test_to_header_round_trip() -> None:
    jar = CookieJar.parse(SEED)
    assert CookieJar.parse(jar.to_header()) == jar
    assert jar.to_header() == SEED


def test_set_and_merge() -> None:
    jar = CookieJar.parse("a=1; b=2")
    jar.set("c", "3")
    assert jar.merge({"a": "1"}) is False
    assert jar.merge(CookieJar.parse("b=20; d=4")) is True
    assert jar.to_header() == "a=1; b=20; c=3; d=4"
    assert "d" in jar and len(jar) == 4 and list(jar) == ["a", "b", "c", "d"]


def test_merge_set_cookie_newest_wins_and_reports_change() -> None:
    jar = CookieJar.parse("unb=1; _m_h5_tk=old_1")
    changed = jar.merge_set_cookie(
        [
            "_m_h5_tk=mid_2; Path=/; Domain=.goofish.com",
            "_m_h5_tk=new_3; Path=/",
            "_m_h5_tk_enc=e1; Path=/; HttpOnly",
        ],
        now=1_000,
    )
    assert changed is True
    assert jar.get("_m_h5_tk") == "new_3"
    assert jar.get("_m_h5_tk_enc") == "e1"
    assert jar.names() == ["unb", "_m_h5_tk", "_m_h5_tk_enc"]  # updated in place, new ones appended
    assert jar.merge_set_cookie(["_m_h5_tk=new_3; Path=/"], now=1_000) is False


def test_merge_set_cookie_deletes_on_max_age_zero_and_past_expires() -> None:
    jar = CookieJar.parse("a=1; b=2; c=3; d=4; e=5")
    now = 1_750_000_000.0  # 2025-06-15
    changed = jar.merge_set_cookie(
        [
            "a=; Max-Age=0; Path=/",
            "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
            "c=kept; Expires=Fri, 31 Dec 2099 23:59:59 GMT; Path=/",
            "d=old-style; expires=Thu, 01-Jan-1970 00:00:01 GMT",
            "e=maxage-wins; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "f=never-set; Max-Age=-1",
        ],
        now=now,
    )
    assert changed is True
    assert jar.to_header() == "c=kept; e=maxage-wins"


def test_merge_set_cookie_ignores_malformed_headers() -> None:
    jar = CookieJar.parse("a=1")
    assert jar.merge_set_cookie(["", "noequals", "=value", "; Path=/"]) is False
    assert jar.to_header() == "a=1"


def test_mask() -> None:
    assert mask("0123456789abcdef0123456789abcdef") == "0123…(32)"
    assert mask("12345678") == "12…(8)"
    assert mask("abc") == "…(3)"
    assert mask("") == "…(0)"
    assert mask(None) == "None"


def test_repr_masks_every_value() -> None:
    jar = CookieJar.parse(SEED)
    text = repr(jar)
    assert "0123456789abcdef0123456789abcdef" not in text
    assert "1f2e3d4c5b6a79881f2e3d4c5b6a7988" not in text
    assert "2202640918079" not in text
    assert "cookie2=1f2e…(32)" in text
    assert str(jar) == text


def _response(headers: list[tuple[str, str]]) -> requests.Response:
    raw = HTTPResponse(body=b"{}", headers=headers, status=200, preload_content=False)
    response = requests.Response()
    response.raw = raw
    response.status_code = 200
    response.headers = requests.structures.CaseInsensitiveDict(raw.headers)
    return response


def test_set_cookie_headers_reads_unfolded_list() -> None:
    response = _response(
        [
            ("Set-Cookie", "_m_h5_tk=abc_1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/"),
            ("Set-Cookie", "_m_h5_tk_enc=def; Path=/"),
            ("Content-Type", "application/json"),
        ]
    )
    assert set_cookie_headers(response) == [
        "_m_h5_tk=abc_1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/",
        "_m_h5_tk_enc=def; Path=/",
    ]


def test_set_cookie_headers_splits_a_folded_value_outside_dates() -> None:
    response = requests.Response()
    response.headers["Set-Cookie"] = "a=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/, b=2; Path=/"
    assert set_cookie_headers(response) == ["a=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/", "b=2; Path=/"]
    assert set_cookie_headers(requests.Response()) == []


def test_concurrent_merges_and_reads_do_not_break() -> None:
    jar = CookieJar()
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for i in range(500):
                jar.merge_set_cookie([f"{prefix}{i}=v; Path=/"])
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(500):
                jar.to_header()
                repr(jar)
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in "xy"] + [threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(jar) == 1000
