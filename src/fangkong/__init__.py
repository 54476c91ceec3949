"""Fangkong (防控): a command platform for the prevention and control of an infectious-disease outbreak."""

__version__ = "0.1.0"
