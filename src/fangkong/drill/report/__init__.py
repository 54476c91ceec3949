"""The drill run report (演练报告): the runs page, one run's curves, clocks, scores against goals and
slowest chains (`runs`), and the after-action report in XLSX and PDF (`aar.write_aar`)."""
