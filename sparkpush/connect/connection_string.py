"""Parsing and rendering Spark's `sc://host[:port]/;key=value;...` connection strings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote

from sparkpush.connect.secret import Secret
from sparkpush.errors import ConnectionStringError

DEFAULT_PORT = 15002


@dataclass(frozen=True)
class ConnectionSpec:
    """Where and how to reach a Spark Connect server; extra keys travel as gRPC metadata."""

    host: str
    port: int = DEFAULT_PORT
    token: Secret | None = None
    use_ssl: bool = False
    user_id: str | None = None
    user_agent: str | None = None
    session_id: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def with_session(self, session_id: str) -> ConnectionSpec:
        return replace(self, session_id=session_id)

    def with_token(self, token: Secret | None) -> ConnectionSpec:
        return replace(self, token=token)

    def url(self, *, include_token: bool = False) -> str:
        """The `sc://` form; the token only when explicitly asked for."""
        params: list[tuple[str, str]] = []
        if include_token and self.token is not None:
            params.append(("token", self.token.reveal()))
        if self.use_ssl:
            params.append(("use_ssl", "true"))
        for key in ("user_id", "user_agent", "session_id"):
            value = getattr(self, key)
            if value is not None:
                params.append((key, value))
        params.extend(self.metadata)
        suffix = "".join(f";{k}={quote(v, safe='')}" for k, v in params)
        return f"sc://{self.endpoint}/{suffix}" if suffix else f"sc://{self.endpoint}"

    def display(self) -> str:
        """The URL for people and reports: never the token."""
        return self.url(include_token=False)

    def __repr__(self) -> str:
        return f"ConnectionSpec({self.display()!r})"


def parse_connection_string(text: str) -> ConnectionSpec:
    """Parse `sc://host[:port]/;k=v;...` the way Spark's clients do, with one-line errors."""
    shown = _redact(text)
    if not text.startswith("sc://"):
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: it must start with 'sc://'"
        )
    rest = text[len("sc://") :]
    netloc, _, tail = rest.partition("/")
    if ";" in netloc:
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: parameters go after a '/', as in "
            "sc://host:port/;key=value"
        )
    host, port = _parse_netloc(netloc, shown)
    parts = tail.split(";") if tail else []
    if parts and parts[0] != "":
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: a path is not allowed; "
            "write parameters as sc://host:port/;key=value"
        )
    params = _parse_params(parts[1:], shown)
    token = params.pop("token", None)
    use_ssl_text = params.pop("use_ssl", "false").lower()
    if use_ssl_text not in ("true", "false"):
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: use_ssl must be true or false"
        )
    session_id = params.pop("session_id", None)
    if session_id is not None:
        _check_uuid(session_id, shown)
    return ConnectionSpec(
        host=host,
        port=port,
        token=Secret(token) if token else None,
        use_ssl=use_ssl_text == "true",
        user_id=params.pop("user_id", None),
        user_agent=params.pop("user_agent", None),
        session_id=session_id,
        metadata=tuple(params.items()),
    )


def _parse_netloc(netloc: str, shown: str) -> tuple[str, int]:
    if not netloc:
        raise ConnectionStringError(f"invalid connection string {shown!r}: the host is missing")
    if "@" in netloc:
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: bad host (credentials before '@' are not "
            "supported; give the token as ;token=...)"
        )
    if netloc.startswith("["):
        host, bracket, after = netloc[1:].partition("]")
        if not bracket or not host:
            raise ConnectionStringError(
                f"invalid connection string {shown!r}: unclosed '[' in the host"
            )
        if after and not after.startswith(":"):
            raise ConnectionStringError(f"invalid connection string {shown!r}: bad host")
        port_text = after[1:] if after else ""
    else:
        host, colon, port_text = netloc.partition(":")
        if not host:
            raise ConnectionStringError(f"invalid connection string {shown!r}: the host is missing")
        if colon and not port_text:
            raise ConnectionStringError(f"invalid connection string {shown!r}: the port is empty")
        if any(c in host for c in " @?#"):
            raise ConnectionStringError(f"invalid connection string {shown!r}: bad host {host!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: port {port_text!r} is not a number "
            "from 1 to 65535"
        )
    return host, int(port_text)


def _parse_params(parts: list[str], shown: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in parts:
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ConnectionStringError(
                f"invalid connection string {shown!r}: a parameter is not key=value "
                "(its text is not shown: it may be a secret)"
            )
        if key in params:
            shown_key = repr(key) if key in _KNOWN_KEYS else "a parameter"
            raise ConnectionStringError(
                f"invalid connection string {shown!r}: {shown_key} is given twice"
            )
        params[key] = unquote(value)
    return params


def _check_uuid(value: str, shown: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ConnectionStringError(
            f"invalid connection string {shown!r}: session_id must be a UUID"
        ) from None


def _redact(text: str) -> str:
    """The string for error messages: the host and port, then only parameter names.

    A parameter's value may be a secret, and so may a part that is not key=value at all
    (`;<token>` with the `token=` forgotten), or anything before an '@' in the host.
    """
    head, _, tail = text.partition(";")
    if "@" in head:
        head = "sc://***@" + head.rsplit("@", 1)[1]
    pieces = [head]
    for piece in tail.split(";") if tail else []:
        key, eq, _ = piece.partition("=")
        pieces.append(f"{key}=***" if eq and key in _KNOWN_KEYS else "***" if piece else "")
    return ";".join(pieces)


_KNOWN_KEYS = ("token", "use_ssl", "user_id", "user_agent", "session_id")


def new_session_id() -> str:
    return str(uuid.uuid4())


__all__ = ["DEFAULT_PORT", "ConnectionSpec", "new_session_id", "parse_connection_string"]
