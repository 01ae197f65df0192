"""The small object every command receives: global flags and the lazily loaded config."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from sparkpush.config.settings import Config, load_config


@dataclass
class AppContext:
    config_file: Path | None = None
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_file)
        return self._config

    @staticmethod
    def notify(message: str) -> None:
        """A status line for people, on stderr so that stdout stays the script's."""
        click.echo(f"connect: {message}", err=True)

    @staticmethod
    def stderr_is_tty() -> bool:
        return sys.stderr.isatty()


pass_app = click.make_pass_decorator(AppContext, ensure=True)
