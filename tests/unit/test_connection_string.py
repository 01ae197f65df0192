from __future__ import annotations

import pytest

from sparkpush.connect.connection_string import DEFAULT_PORT, parse_connection_string
from sparkpush.connect.secret import Secret
from sparkpush.errors import ConnectionStringError, ExitCode

SESSION = "8a3b4f4e-6a0b-4f5e-9d1c-1f2e3d4c5b6a"


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sc://localhost", "localhost", DEFAULT_PORT),
        ("sc://localhost/", "localhost", DEFAULT_PORT),
        ("sc://example.com:443", "example.com", 443),
        ("sc://10.0.0.5:15003/;use_ssl=false", "10.0.0.5", 15003),
        ("sc://[::1]:15002", "::1", 15002),
        ("sc://[::1]", "::1", DEFAULT_PORT),
    ],
)
def test_host_and_port_are_parsed(text: str, host: str, port: int) -> None:
    spec = parse_connection_string(text)
    assert (spec.host, spec.port) == (host, port)


def test_known_keys_are_fields_and_others_become_metadata() -> None:
    spec = parse_connection_string(
        f"sc://h:1/;token=abc;use_ssl=true;user_id=ann;user_agent=ci;session_id={SESSION};x-tenant=t1"
    )
    assert spec.token == Secret("abc")
    assert spec.use_ssl is True
    assert spec.user_id == "ann"
    assert spec.user_agent == "ci"
    assert spec.session_id == SESSION
    assert spec.metadata == (("x-tenant", "t1"),)


def test_url_round_trips_and_hides_the_token_unless_asked() -> None:
    spec = parse_connection_string("sc://h:1/;token=s3cret;user_id=ann;x-a=b")
    assert "s3cret" not in spec.display()
    assert "s3cret" not in repr(spec)
    assert "s3cret" not in str(spec.token)
    assert parse_connection_string(spec.url(include_token=True)) == spec
    assert parse_connection_string(spec.display()).token is None


def test_with_session_sets_the_session_id() -> None:
    spec = parse_connection_string("sc://localhost:7").with_session(SESSION)
    assert spec.url() == f"sc://localhost:7/;session_id={SESSION}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://localhost:15002", "must start with 'sc://'"),
        ("sc:/localhost", "must start with 'sc://'"),
        ("localhost:15002", "must start with 'sc://'"),
        ("sc://", "host is missing"),
        ("sc://:15002", "host is missing"),
        ("sc://host:", "port is empty"),
        ("sc://host:abc", "is not a number"),
        ("sc://host:0", "is not a number"),
        ("sc://host:70000", "is not a number"),
        ("sc://host/path", "a path is not allowed"),
        ("sc://host;token=x", "parameters go after a '/'"),
        ("sc://host/;token", "is not key=value"),
        ("sc://host/;=v", "is not key=value"),
        ("sc://host/;use_ssl=maybe", "use_ssl must be true or false"),
        ("sc://host/;session_id=not-a-uuid", "session_id must be a UUID"),
        ("sc://host/;a=1;a=2", "is given twice"),
        ("sc://[::1", "unclosed '['"),
        ("sc://ho st:1", "bad host"),
    ],
)
def test_malformed_strings_give_one_line_usage_errors(text: str, message: str) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_error_messages_never_show_the_token() -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string("sc://host:bad/;token=hunter2")
    assert "hunter2" not in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "sc://localhost:15140/;hunter2-the-token",  # `token=` forgotten
        "sc://localhost:15140/;x-api-key=hunter2;x-api-key=hunter2",
        "sc://localhost:bad/;x-api-key=hunter2",
        "sc://admin:hunter2@host:1",
        "sc://host/;session_id=hunter2",
    ],
)
def test_error_messages_never_echo_a_parameter_value(text: str) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string(text)
    assert "hunter2" not in caught.value.message
    assert "sc://" in caught.value.message  # the string is still named, redacted
