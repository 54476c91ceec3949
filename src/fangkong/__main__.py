"""`python -m fangkong` runs the command line."""

from fangkong.cli import main

main()
