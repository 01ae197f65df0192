"""The two small requests we make to a repository ourselves, beside Ivy: the realm a host asks
credentials for (Ivy matches credentials by realm and host), and a `.sha256` file (Ivy only
knows `.sha1` and `.md5`). A password is only sent to its own host, over https or loopback,
and never after a redirect.
"""

from __future__ import annotations

import base64
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sparkpush.packages.maven_settings import Credential

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)
_HEX64 = re.compile(r"\b([0-9a-fA-F]{64})\b")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def probe_realm(repository_url: str) -> str:
    """The realm the repository names when it asks for credentials ("" when it does not)."""
    try:
        _OPENER.open(urllib.request.Request(repository_url, method="GET"), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            found = _REALM.search(exc.headers.get("WWW-Authenticate", ""))
            return found.group(1) if found else ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.debug("no realm from %s: %s", repository_url, exc)
    return ""


def published_sha256(artifact_url: str, credential: Credential | None) -> str | None:
    """The hex digest in `<artifact>.sha256` next to the artifact, or None when there is none."""
    url = artifact_url + ".sha256"
    split = urlsplit(url)
    text: str | None
    try:
        if split.scheme == "file":
            text = Path(unquote(split.path)).read_text(errors="replace")
        elif split.scheme in ("https", "http"):
            text = _fetch(url, credential)
        else:
            return None
    except (OSError, urllib.error.URLError, ValueError) as exc:
        log.debug("no .sha256 for %s: %s", artifact_url, exc)
        return None
    if text is None:
        return None
    found = _HEX64.search(text)
    return found.group(1).lower() if found else None


def _fetch(url: str, credential: Credential | None) -> str | None:
    request = urllib.request.Request(url, method="GET")
    if credential is not None and credential.host == urlsplit(url).hostname:
        token = base64.b64encode(f"{credential.username}:{credential.password}".encode())
        request.add_header("Authorization", "Basic " + token.decode())
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            return str(response.read(4096).decode("utf-8", "replace"))
    except urllib.error.HTTPError:
        return None  # 404: not published; anything else: the jar was verified by its sha1
