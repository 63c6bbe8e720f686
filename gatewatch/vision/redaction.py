"""Camera credentials taken out of any text before it is shown, stored or logged.

A camera's ``source`` is often a URL holding its password (``rtsp://admin:secret@10.0.0.5/...``,
``http://cam/video.cgi?user=admin&pwd=secret``), and the video libraries quote the URL whole in
their errors. Those errors end up in the camera's status note, which every role reads, in the
audit trail and in the worker's log. ``redact_url`` masks the user information of every URL in
a text and the values of query parameters that commonly carry a secret; everything else (scheme,
host, port, path) stays, so the message still says which camera failed and how.

Pure and free of the video libraries: the web app uses it as well, as a last line of defence.
"""

from __future__ import annotations

import re

MASK = "***"

#: Query parameters whose value is a secret in camera and streaming URLs, compared case-insensitively.
SECRET_PARAMETERS = (
    "password", "passwd", "pass", "pwd", "loginpas", "token", "access_token", "auth", "auth_token",
    "key", "apikey", "api_key", "secret", "signature", "sig",
)

#: ``scheme://`` and the user information after it, up to the last ``@`` before the host ends. One
#: slash will do: a URL taken for a file path (``gatewatch process rtsp://...``) comes back as ``rtsp:/``.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2})[^\s/?#]*@")
#: ``?name=`` / ``&name=`` / ``;name=`` of a secret parameter, and its value up to the next separator.
_SECRET_VALUE = re.compile(
    r"(?P<name>[?&;](?:" + "|".join(map(re.escape, SECRET_PARAMETERS)) + r")=)[^&;#\s'\"]*",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """``text`` with every URL's ``user:password@`` and every secret query value replaced by ``***``."""
    text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    return _SECRET_VALUE.sub(rf"\g<name>{MASK}", text)


def redact_optional(text: str | None) -> str | None:
    """``redact_url`` for a value that may be missing (a status note, say)."""
    return None if text is None else redact_url(text)
