"""``xlexec``: argparse and the printing of step results."""

from xlexec.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
