"""The options `connect test` hands pytest are the ones the plugin declares."""

from __future__ import annotations

import argparse

import pytest
from _pytest.config.argparsing import Parser

from sparkpush.live.live_project import LiveOptions
from sparkpush.live.pytest_plugin import pytest_addoption
from sparkpush.live.pytest_run import plugin_args


def parsed(args: list[str]) -> argparse.Namespace:
    parser = Parser(_ispytest=True)
    pytest_addoption(parser)
    return parser.parse(args)


@pytest.mark.parametrize("worker_output", [None, True, False])
def test_connect_tests_worker_output_flag_is_an_option_of_the_plugin(
    worker_output: bool | None,
) -> None:
    args = [a for a in plugin_args(LiveOptions(worker_output=worker_output)) if a != "-p"]
    assert parsed(args).sparkpush_worker_output is worker_output


def test_plain_pytest_takes_the_documented_flags() -> None:
    assert parsed(["--sparkpush-no-worker-output"]).sparkpush_worker_output is False
    assert parsed(["--sparkpush-worker-output"]).sparkpush_worker_output is True
