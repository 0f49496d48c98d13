"""Summarise a py-spy profile (``--format raw`` collapsed stacks) of ``artifact-bot serve``.

``python -m benchmarks.serve_load --db URL --profile serve.prof`` records one; this prints where the
samples went: the time Bolt's request threads spend waiting for a listener to call ``ack()``, each
listener (handler) inclusive, and the project's own functions inclusive (``bot/``, ``handlers/``).

    python -m benchmarks.profile_summary serve.prof [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def load(path: str | Path) -> tuple[list[tuple[list[tuple[str, str]], int]], int]:
    """Stacks as lists of (function, file), with their sample counts, and the total."""
    stacks = []
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            m = FRAME.match(raw)
            frames.append((m.group("name"), m.group("file")) if m else (raw, ""))
        stacks.append((frames, int(count)))
        total += int(count)
    return stacks, total


def summary(path: str | Path, top: int = 25) -> str:
    stacks, total = load(path)
    inclusive: Counter[str] = Counter()
    handlers: Counter[str] = Counter()
    waiting = 0
    for frames, n in stacks:
        seen: set[str] = set()
        for name, file in frames:
            if file.startswith(("bot/", "handlers/")):
                key = f"{name} ({file})"
                if key not in seen:
                    seen.add(key)
                    inclusive[key] += n
                if file.startswith("handlers/") and name.startswith("handle_"):
                    handlers[name] += n
        # A request thread polling for ack(): Bolt's ThreadListenerRunner.run at the top of the stack.
        if frames and frames[-1][0] == "ThreadListenerRunner.run":
            waiting += n
    lines = [f"{total} samples (all threads; 100 Hz per thread)", ""]
    lines.append(f"{100 * waiting / total:5.1f}%  request threads waiting for a listener to call ack()")
    lines.append("")
    lines.append("listeners, inclusive:")
    lines.extend(f"{100 * n / total:5.1f}%  {name}" for name, n in handlers.most_common())
    lines.append("")
    lines.append(f"project functions, inclusive (top {top}):")
    lines.extend(f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    print(summary(a.profile, a.top))


if __name__ == "__main__":
    main()
