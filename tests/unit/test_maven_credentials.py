"""Repository credentials come only from the user's own settings.xml servers and netrc, and go
only to the host they are for, over https (or loopback)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkpush.packages.maven_settings import (
    MavenSettings,
    credentials_for,
    credentials_for_all,
    parse_netrc,
    parse_settings_xml,
    read_maven_settings,
)

SETTINGS = """<?xml version="1.0"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
  <servers>
    <server><id>corp</id><username>ann</username><password>s3cret</password></server>
    <server><id>mirror</id><username>bob</username><password>m1rror</password></server>
    <server><id>locked</id><username>eve</username><password>{COQLCE6DU6GtcS5P=}</password></server>
  </servers>
  <mirrors>
    <mirror><id>mirror</id><mirrorOf>central</mirrorOf><url>https://mirror.example.com/maven2</url></mirror>
  </mirrors>
  <profiles>
    <profile><id>p</id>
      <repositories>
        <repository><id>corp</id><url>https://repo.corp.example.com/releases/</url></repository>
        <repository><id>locked</id><url>https://locked.example.com/m2</url></repository>
      </repositories>
    </profile>
  </profiles>
</settings>
"""


def test_settings_xml_servers_go_to_the_urls_settings_xml_gives_their_id() -> None:
    settings = parse_settings_xml(SETTINGS)
    corp = credentials_for("https://repo.corp.example.com/releases/", settings)
    assert corp is not None and (corp.host, corp.username, corp.password) == (
        "repo.corp.example.com",
        "ann",
        "s3cret",
    )
    assert "s3cret" not in repr(corp)
    mirror = credentials_for("https://mirror.example.com/maven2/", settings)
    assert mirror is not None and mirror.username == "bob"
    assert settings.mirror_for("central") == "https://mirror.example.com/maven2"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/releases/",  # another host
        "https://repo.corp.example.com/snapshots/",  # same host, outside the server's path
        "https://repo.corp.example.com:8443/releases/",  # another port
        "http://repo.corp.example.com/releases/",  # no password in clear
        "https://repo.corp.example.com.evil.example/releases/",
        "file:///srv/m2/",
        "https://locked.example.com/m2/",  # an encrypted password: not supported, skipped
    ],
)
def test_no_credential_for_anywhere_else(url: str) -> None:
    assert credentials_for(url, parse_settings_xml(SETTINGS)) is None


def test_netrc_entries_are_per_host(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine repo.example.com login carl password pw1\n"
        "machine 127.0.0.1 login dora password pw2\n"
    )
    netrc.chmod(0o600)
    hosts = parse_netrc(netrc)
    settings = MavenSettings(netrc_hosts=hosts)
    found = credentials_for("https://repo.example.com/m2/", settings)
    assert found is not None and (found.username, found.source) == ("carl", "netrc")
    assert credentials_for("http://127.0.0.1:8081/m2/", settings) is not None
    assert credentials_for("http://localhost:8081/m2/", settings) is None
    assert credentials_for("https://other.example.com/m2/", settings) is None
    chosen = credentials_for_all(
        ["https://repo.example.com/a/", "https://repo.example.com/b/", "https://x.example/"],
        settings,
    )
    assert [c.host for c in chosen] == ["repo.example.com"]


def test_files_another_user_could_write_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".m2").mkdir()
    settings = tmp_path / ".m2" / "settings.xml"
    settings.write_text(SETTINGS)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine repo.example.com login carl password pw1\n")
    monkeypatch.setenv("NETRC", str(netrc))
    for path in (settings, netrc):
        path.chmod(0o600)
    read = read_maven_settings()
    assert read.servers and read.netrc_hosts
    for path in (settings, netrc):
        path.chmod(0o666)
    read = read_maven_settings()
    assert not read.servers and not read.netrc_hosts
    os.symlink(settings, tmp_path / "link.xml")
    settings.chmod(0o600)
    settings.unlink()
    (tmp_path / ".m2" / "settings.xml").symlink_to(tmp_path / "elsewhere.xml")
    (tmp_path / "elsewhere.xml").write_text(SETTINGS)
    assert not read_maven_settings().servers


def test_broken_settings_count_as_none() -> None:
    assert parse_settings_xml("<settings><servers>") == MavenSettings()
    assert parse_settings_xml("") == MavenSettings()
