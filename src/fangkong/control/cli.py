"""Control's command line: its scheduled jobs (`fangkong jobs run control.missed_tests`)."""

from __future__ import annotations

from fangkong.control import jobs as _jobs  # noqa: F401  (registers control.missed_tests)
