"""An application failing every request has its traceback logged once a minute per kind of
error, with how many more there were (galapagos_runtime.variants)."""

from __future__ import annotations

import logging

import pytest
from galapagos_runtime.variants import _ErrorLog


def _fail(errors: _ErrorLog, exc: Exception) -> None:
    try:
        raise exc
    except Exception:
        errors.log()


def test_one_traceback_per_kind_then_a_count(caplog: pytest.LogCaptureFixture) -> None:
    errors = _ErrorLog(every=60)
    with caplog.at_level(logging.ERROR, logger="ray.serve"):
        for _ in range(5):
            _fail(errors, RuntimeError("boom"))
        _fail(errors, KeyError("other"))
        assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [RuntimeError, KeyError]
        errors.every = 0  # the minute is over
        _fail(errors, RuntimeError("boom"))
    assert caplog.records[-1].getMessage().endswith("(4 more like it in the last 0s)")
