"""OKX signing reproduces the worked examples of OKX's documentation (REST authentication)."""

from __future__ import annotations

import pytest

from host.exchange.signing import rest_signature, signatures_match, ws_login_signature


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        (
            "GET",
            "/api/v5/account/balance?ccy=BTC",
            "",
            "wpDvCwYCprcMQsQkxWJiWy+YADoQE4ep+OEKKLimMoY=",
        ),
        (
            "POST",
            "/api/v5/account/set-leverage",
            '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}',
            "iZy0pDn5HY10xNbZJAcK5MG2JUN5OS41Hcsiq/zUNMs=",
        ),
    ],
)
def test_rest_signature_matches_okx_documentation(
    method: str, path: str, body: str, expected: str
) -> None:
    assert rest_signature("secret", "2020-12-08T09:08:57.715Z", method, path, body) == expected


def test_lower_case_method_signs_like_upper_case() -> None:
    args = ("secret", "2020-12-08T09:08:57.715Z")
    path = "/api/v5/account/balance?ccy=BTC"
    assert rest_signature(*args, "get", path, "") == rest_signature(*args, "GET", path, "")


def test_ws_login_signature_matches_okx_documentation() -> None:
    assert (
        ws_login_signature("secret", "1538054050") == "Gj2hQIVKFcXbiwCak8SmVOu5mxPCizWDdmUAhbx8Z+s="
    )


def test_signatures_match_only_on_equal_text() -> None:
    good = ws_login_signature("secret", "1538054050")
    assert signatures_match(good, good)
    assert not signatures_match(good, ws_login_signature("other", "1538054050"))
