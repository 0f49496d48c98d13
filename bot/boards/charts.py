"""Charts as PNG bytes (matplotlib, no screen).

matplotlib is imported when a chart is drawn, not with this module: it costs more to load than
most commands take to run.
"""

from __future__ import annotations

import io
from collections.abc import Sequence


def score_chart(names: Sequence[str], scores: Sequence[float], bars: Sequence[float | None], *, title: str) -> bytes:
    """Horizontal bars of artifacts per $100 per team, with each team's bar marked."""
    # A Figure without pyplot: no global figure manager or GUI backend, safe in worker threads
    # (matplotlib's "embedding in a web application server" recipe).
    from matplotlib.figure import Figure

    n = len(names)
    fig = Figure(figsize=(8, max(2.5, 0.45 * n + 1.2)), dpi=100)
    ax = fig.subplots()
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
    return buf.getvalue()
