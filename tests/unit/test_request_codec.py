"""The fast JSON path of /validate accepts and refuses exactly what json.loads did."""

from __future__ import annotations

import json

import pytest

from webhook.errors import ReviewInvalidError
from webhook.server.middlewares import _decode, json_response


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"n": 12345678901234567890123}',
        b'{"n": -9223372036854775809}',
        b'{"s": "\\ud800"}',
        b'{"f": 1.5e300, "g": -0.0, "u": "\\u00e9"}',
        b"[1, 2, 3]",
    ],
)
def test_accepted_bodies_decode_as_the_standard_library_decodes_them(body: bytes) -> None:
    decoded = _decode(body)
    assert decoded == json.loads(body)
    assert type(decoded) is type(json.loads(body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": Infinity}', "Infinity is not a JSON value"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"", "the body is empty"),
    ],
)
def test_refused_bodies_keep_their_messages(body: bytes, message: str) -> None:
    with pytest.raises(ReviewInvalidError, match=message):
        _decode(body)


def test_a_lone_surrogate_in_a_response_is_escaped_not_a_500() -> None:
    response = json_response({"uid": "\ud800"})
    assert response.body == b'{"uid": "\\ud800"}'
