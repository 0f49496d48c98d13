"""Charts as PNG bytes (matplotlib, no screen)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def score_chart(names: Sequence[str], scores: Sequence[float], bars: Sequence[float | None], *, title: str) -> bytes:
    """Horizontal bars of artifacts per $100 per team, with each team's bar marked."""
    n = len(names)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * n + 1.2)), dpi=100)
    y = list(range(n))[::-1]
    ax.barh(y, scores, color="#2eb67d", label="artifacts per $100")
    marked = False
    for yi, bar in zip(y, bars, strict=True):
        if bar is not None:
            ax.plot(
                [bar, bar],
                [yi - 0.4, yi + 0.4],
                color="#e01e5a",
                linewidth=2.5,
                label=None if marked else "bar (last month)",
            )
            marked = True
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel("artifacts per $100 of AI spend")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
