"""The user's own Maven settings: `~/.m2/settings.xml` (servers, mirrors, repositories) and
`~/.netrc`, the only places repository credentials come from.

A credential goes only to the host it is for: a `<server>` only to the URLs that the same
settings.xml gives its id (a mirror's or a profile repository's `<url>`), a netrc `machine`
only to that host; and only over https (or http on loopback). Files another user could have
written are not read. Encrypted settings.xml passwords (`{...}`, settings-security.xml) are
not supported: such a server is skipped.
"""

from __future__ import annotations

import logging
import netrc
import os
import stat
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    """A user name and password for one host (never printed: `repr` hides the password)."""

    host: str
    username: str
    password: str = field(repr=False)
    source: str = ""
    """Where it came from: `settings.xml server 'id'` or `netrc`."""


@dataclass(frozen=True)
class Mirror:
    id: str
    url: str
    mirror_of: tuple[str, ...]


@dataclass(frozen=True)
class MavenSettings:
    servers: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    """Server id -> (username, password)."""
    urls_by_id: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Server id -> the URLs settings.xml gives that id (mirrors, profile repositories)."""
    mirrors: tuple[Mirror, ...] = ()
    netrc_hosts: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def mirror_for(self, repository_id: str) -> str | None:
        """The URL of the mirror of `repository_id` (`central`, or `*` for every remote one)."""
        for mirror in self.mirrors:
            of = mirror.mirror_of
            if repository_id == "*" and any(m in ("*", "external:*") for m in of):
                return mirror.url
            if repository_id != "*" and repository_id in of and f"!{repository_id}" not in of:
                return mirror.url
        return None


def maven_settings_path() -> Path:
    return Path.home() / ".m2" / "settings.xml"


def netrc_path() -> Path:
    return Path(os.environ.get("NETRC") or Path.home() / ".netrc")


def read_maven_settings() -> MavenSettings:
    """The user's settings.xml and netrc; an unreadable or foreign file counts as absent."""
    settings = parse_settings_xml(_own_file_text(maven_settings_path()) or "")
    hosts = parse_netrc(netrc_path())
    return MavenSettings(settings.servers, settings.urls_by_id, settings.mirrors, hosts)


def parse_settings_xml(text: str) -> MavenSettings:
    """Servers, mirrors and profile repositories of a settings.xml (namespaced or not)."""
    if not text.strip():
        return MavenSettings()
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        log.warning("ignoring ~/.m2/settings.xml: %s", exc)
        return MavenSettings()
    servers: dict[str, tuple[str, str]] = {}
    for server in _all(root, "servers", "server"):
        server_id, user, password = (_text(server, k) for k in ("id", "username", "password"))
        if not server_id or not user:
            continue
        if password.startswith("{") and password.endswith("}"):
            log.warning("settings.xml server %r: encrypted passwords are not supported", server_id)
            continue
        servers[server_id] = (user, password)
    urls: dict[str, list[str]] = {}
    mirrors: list[Mirror] = []
    for mirror in _all(root, "mirrors", "mirror"):
        mirror_id, url = _text(mirror, "id"), _text(mirror, "url")
        of = tuple(p.strip() for p in _text(mirror, "mirrorOf").split(",") if p.strip())
        if url:
            mirrors.append(Mirror(mirror_id, url, of))
            urls.setdefault(mirror_id, []).append(url)
    for profile in _all(root, "profiles", "profile"):
        for section in ("repositories", "pluginRepositories"):
            for repository in _all(profile, section, section[:-3] + "y"):
                repository_id, url = _text(repository, "id"), _text(repository, "url")
                if repository_id and url:
                    urls.setdefault(repository_id, []).append(url)
    return MavenSettings(servers, {k: tuple(v) for k, v in urls.items()}, tuple(mirrors))


def parse_netrc(path: Path) -> dict[str, tuple[str, str]]:
    if _own_file_text(path) is None:
        return {}
    try:
        parsed = netrc.netrc(str(path))
    except (netrc.NetrcParseError, OSError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return {
        host: (login or "", password or "")
        for host, (login, _, password) in parsed.hosts.items()
        if login
    }


def credentials_for(repository_url: str, settings: MavenSettings) -> Credential | None:
    """The user's credential for `repository_url`, or None: settings.xml servers whose URLs
    (as settings.xml itself gives them) contain it, else netrc's entry for its host. None too
    for a URL that is not https (or http on loopback): a password never travels in clear."""
    split = urlsplit(repository_url)
    host = split.hostname or ""
    if split.scheme != "https" and not (split.scheme == "http" and _loopback(host)):
        return None
    for server_id, (username, password) in settings.servers.items():
        for url in settings.urls_by_id.get(server_id, ()):
            if _same_place(url, repository_url):
                return Credential(host, username, password, f"settings.xml server {server_id!r}")
    found = settings.netrc_hosts.get(host)
    if found is not None:
        return Credential(host, found[0], found[1], "netrc")
    return None


def credentials_for_all(
    repository_urls: Sequence[str], settings: MavenSettings
) -> tuple[Credential, ...]:
    """One credential per host at most (Ivy keys them by host); the first repository wins."""
    chosen: dict[str, Credential] = {}
    for url in repository_urls:
        credential = credentials_for(url, settings)
        if credential is not None:
            chosen.setdefault(credential.host, credential)
    return tuple(chosen.values())


def _same_place(configured: str, repository: str) -> bool:
    """Same scheme, host and port, and the repository's path under the configured one."""
    a, b = urlsplit(configured), urlsplit(repository)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        return False
    return (b.path.rstrip("/") + "/").startswith(a.path.rstrip("/") + "/")


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def _own_file_text(path: Path) -> str | None:
    """The file's text if it is a regular file of this user that nobody else may write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            log.warning("ignoring %s: not a file of yours", path)
            return None
        if info.st_mode & 0o022:
            log.warning("ignoring %s: others may write to it", path)
            return None
        with os.fdopen(os.dup(fd), "rb") as stream:
            return stream.read().decode("utf-8", "replace")
    finally:
        os.close(fd)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(parent: ElementTree.Element, section: str, item: str) -> list[ElementTree.Element]:
    found: list[ElementTree.Element] = []
    for child in parent:
        if _local(child.tag) == section:
            found.extend(e for e in child if _local(e.tag) == item)
    return found


def _text(element: ElementTree.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""
