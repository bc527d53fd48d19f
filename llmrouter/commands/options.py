"""Command-line options that several commands share, spelled and documented once."""

from __future__ import annotations

import argparse

__all__ = ["add_sampling_options"]


def add_sampling_options(parser: argparse.ArgumentParser, *, temperature: float) -> None:
    """``--max-tokens``, ``--temperature`` and ``--top-p``: what every answer is sampled with.

    ``temperature`` differs by command: near 0 where answers are scored or compared (``infer``,
    ``generate``), higher for a conversation (``chat``).
    """
    parser.add_argument("--max-tokens", type=int, default=512, help="longest answer, in tokens (default: 512)")
    parser.add_argument(
        "--temperature", type=float, default=temperature,
        help=f"sampling temperature, 0 = most deterministic (default: {temperature:g})",
    )
    parser.add_argument(
        "--top-p", type=float, default=0.9,
        help="nucleus sampling: the probability mass tokens are drawn from (default: 0.9)",
    )
