"""Drills (演练): the synthetic city and, later, outbreak simulation and scoring."""
