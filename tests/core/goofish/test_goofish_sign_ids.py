"""Sign (md5 formula), `_m_h5_tk` parsing, device id / mid / uuid formats (spec §2.1, §2.2)."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from core.goofish.cookies import CookieJar
from core.goofish.ids import device_id, new_mid, new_uuid, now_ms
from core.goofish.sign import APP_KEY_IM, APP_KEY_SIGN, h5_token, h5_token_expiry_ms, mtop_sign

TOKEN_DATA = '{"appKey":"444e9908a51d1cb236a27862abc769c9","deviceId":"1F3A9C2E-0B4D-4E7A-9C1D-5E6F7A8B9C0D-2202640918079"}'


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_app_keys() -> None:
    assert APP_KEY_SIGN == "34839810"
    assert APP_KEY_IM == "444e9908a51d1cb236a27862abc769c9"


@pytest.mark.parametrize(
    ("token", "t", "data"),
    [
        ("cc382a584eaa9c3199f16b836d65261b", "1754570160000", TOKEN_DATA),
        ("", "1754570160000", TOKEN_DATA),  # empty token: the server answers TOKEN_EMPTY
        ("cc382a584eaa9c3199f16b836d65261b", "1741704978866", '{"itemId":"897742748011"}'),
        ("abc", "1", '{"text":"包邮吗？😀"}'),  # unicode data is signed as UTF-8
    ],
)
def test_mtop_sign_is_md5_of_the_joined_fields(token: str, t: str, data: str) -> None:
    assert mtop_sign(token, t, data) == _md5(f"{token}&{t}&34839810&{data}")
    assert re.fullmatch(r"[0-9a-f]{32}", mtop_sign(token, t, data))


def test_mtop_sign_known_values() -> None:
    # Literal digests (computed once from the formula) so a change of encoding or order cannot pass unnoticed.
    assert mtop_sign("", "0", "") == "a919e5b7e73a3ec6ab6b7dc7bde040d0"
    assert (
        mtop_sign("cc382a584eaa9c3199f16b836d65261b", "1754570160000", '{"itemId":"897742748011"}')
        == "816c42062e4f9ffcd29ad83f28fe864f"
    )
    assert mtop_sign("abc", "1", '{"text":"包邮吗？😀"}') == "006855d60a8ee5f67084100b2615b238"
    assert mtop_sign("t", "1", "{}", app_key="k") == _md5("t&1&k&{}")
    assert mtop_sign("a", "1", "é") != mtop_sign("a", "1", "e")


def test_h5_token_from_value_jar_and_mapping() -> None:
    value = "cc382a584eaa9c3199f16b836d65261b_1754570160098"
    assert h5_token(value) == "cc382a584eaa9c3199f16b836d65261b"
    assert h5_token(CookieJar.parse(f"unb=1; _m_h5_tk={value}")) == "cc382a584eaa9c3199f16b836d65261b"
    assert h5_token({"_m_h5_tk": value}) == "cc382a584eaa9c3199f16b836d65261b"
    assert h5_token(CookieJar.parse("unb=1")) == ""
    assert h5_token({}) == ""
    assert h5_token(None) == ""
    assert h5_token("") == ""


def test_h5_token_expiry() -> None:
    assert h5_token_expiry_ms("cc382a584eaa9c3199f16b836d65261b_1754570160098") == 1754570160098
    assert h5_token_expiry_ms("cc382a584eaa9c3199f16b836d65261b") is None
    assert h5_token_expiry_ms("abc_notanumber") is None
    assert h5_token_expiry_ms("abc_²³") is None
    assert h5_token_expiry_ms(CookieJar()) is None


@pytest.mark.parametrize("seed", range(200))
def test_device_id_format(seed: int) -> None:
    did = device_id("2202640918079", random.Random(seed))
    assert did.endswith("-2202640918079")
    body = did[:36]
    assert len(body) == 36
    for pos in (8, 13, 18, 23):
        assert body[pos] == "-"
    assert body[14] == "4"
    assert body[19] in "89AB"
    others = [ch for pos, ch in enumerate(body) if pos not in (8, 13, 18, 23)]
    assert all(ch in "0123456789ABCDEF" for ch in others)


def test_device_id_uses_the_given_rng_and_varies() -> None:
    assert device_id("1", random.Random(7)) == device_id("1", random.Random(7))
    assert len({device_id("1") for _ in range(20)}) == 20


def test_mid_format() -> None:
    assert new_mid(clock=lambda: 1741704675979, rng=random.Random(1)).endswith("1741704675979 0")
    for seed in range(100):
        mid = new_mid(clock=lambda: 1741704675979, rng=random.Random(seed))
        match = re.fullmatch(r"(\d{1,3})1741704675979 0", mid)
        assert match and 0 <= int(match.group(1)) < 1000
    assert re.fullmatch(r"\d{14,16} 0", new_mid())


def test_uuid_format() -> None:
    assert new_uuid(clock=lambda: 1741704675979) == "-17417046759791"
    assert re.fullmatch(r"-\d{13}1", new_uuid())


def test_now_ms_is_milliseconds() -> None:
    assert 1_700_000_000_000 < now_ms() < 10_000_000_000_000
