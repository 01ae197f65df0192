"""A failing test's report gets the one-line hint `connect submit` gives a script that used an
API Spark Connect lacks (RDD, `sparkContext`, `_jdf`, `_jsc`...), as a section of its own."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from sparkpush.submit.script_error import api_gap_hint

SECTION = "sparkpush"


class ApiGapHints:
    NAME = "sparkpush-api-gap-hints"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.failed and call.excinfo is not None:
            hint = api_gap_hint(call.excinfo.value)
            if hint is not None:
                report.sections.append((SECTION, hint))
