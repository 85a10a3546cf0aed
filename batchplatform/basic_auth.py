"""HTTP Basic decoding, once for every way in: DRF's authentication (/ecc, /solutions) and the
long-poll consumers (batchplatform.longpoll), which run outside DRF."""

import base64
import binascii


class MalformedBasicCredentials(ValueError):
    """An `Authorization: Basic ...` value that is not base64 of `username:password`."""


def decode_basic_authorization(header: str | bytes) -> tuple[str, str] | None:
    """(username, password) of an `Authorization` header value; None when it uses another scheme
    or is empty; MalformedBasicCredentials when the Basic value cannot be read."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    parts = header.split()
    if not parts or parts[0].lower() != "basic":
        return None
    if len(parts) == 1:
        raise MalformedBasicCredentials("Invalid basic header. No credentials provided.")
    if len(parts) > 2:
        raise MalformedBasicCredentials("Invalid basic header. Credentials string should not contain spaces.")
    try:
        decoded = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedBasicCredentials("Invalid basic header. Credentials not correctly base64 encoded.") from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")  # what older clients send
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise MalformedBasicCredentials("Invalid basic header. Credentials not correctly base64 encoded.")
    return username, password
