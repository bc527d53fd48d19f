"""Summarize a ``py-spy record --format raw`` file (collapsed stacks): top self and inclusive frames.

    py-spy record -p PID -f raw -o prof.txt -d 15 -r 200
    python -m bench.profile_summary prof.txt [--top 25] [--match openclaw_litellm]

Inclusive time counts a frame once per sample even when it recurses.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

__all__ = ["summarize"]

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = "stdlib/" + path.split("/", 1)[-1]
            break
    return f"{m.group('func')} ({path})"


def _module(frame: str) -> str:
    """The top-level package of a frame (py-spy prints paths relative to sys.path)."""
    m = _FRAME.match(frame.strip())
    path = m.group("file") if m else frame
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    return path.lstrip("/<").split("/", 1)[0].removesuffix(".py")


def summarize(path: str, top: int = 25, match: str | None = None) -> str:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    total = 0
    idle = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count_s = line.rpartition(" ")
            try:
                count = int(count_s)
            except ValueError:
                continue
            frames = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
            total += count
            if not frames:
                continue
            leaf = _short(frames[-1])
            if len(frames) <= 8 and ("select" in leaf or "run_forever" in leaf or "_run_once" in leaf):
                idle += count
            self_time[leaf] += count
            modules[_module(frames[-1])] += count
            for f in {_short(f) for f in frames}:
                inclusive[f] += count
    lines = [f"samples: {total} (idle in the event loop's poll: {idle}, {100 * idle / max(total, 1):.0f}%)", "", "self time by package:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in modules.most_common(12)]
    lines += ["", "self time (top):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self_time.most_common(top)]
    lines += ["", "inclusive time (top):"]
    items = [(k, v) for k, v in inclusive.most_common() if match is None or match in k]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in items[:top]]
    return "\n".join(lines)


def callers(path: str, needle: str, depth: int = 8, top: int = 8) -> str:
    """The most common stacks (last ``depth`` frames) of samples that pass through ``needle``."""
    stacks: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count_s = line.rstrip("\n").rpartition(" ")
            if not count_s.isdigit():
                continue
            frames = [_short(f) for f in stack.split(";") if f]
            total += int(count_s)
            idx = [i for i, f in enumerate(frames) if needle in f]
            if idx:
                i = idx[0]
                stacks[" <- ".join(reversed(frames[max(0, i - depth + 1): i + 1]))] += int(count_s)
    hits = sum(stacks.values())
    lines = [f"{hits} of {total} samples ({100 * hits / max(total, 1):.1f}%) pass through {needle!r}:"]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {s}" for s, n in stacks.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only inclusive frames whose name/path contains this")
    parser.add_argument("--callers", help="show the stacks leading to frames containing this text")
    parser.add_argument("--depth", type=int, default=8)
    args = parser.parse_args(argv)
    if args.callers:
        print(callers(args.path, args.callers, args.depth, args.top))
    else:
        print(summarize(args.path, args.top, args.match))


if __name__ == "__main__":
    main()
