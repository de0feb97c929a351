"""What the benches' reports share: which CPU a figure came from, and a chart in plain Pillow."""

from __future__ import annotations

import platform
from pathlib import Path

COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))
GREY = (90, 90, 90)


def cpu_name() -> str:
    """Which CPU a figure came from: this project's machines differ between sessions."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "CPU")
    return name + (" (AVX-512)" if "avx512f" in info else " (AVX2, no AVX-512)")


def draw_panel(draw, box: tuple, title: str, lines: list, target: float | None, longest: float) -> None:
    """One chart in `box` (left, top, right, bottom): `lines` are (colour, [(seconds, value), ...]),
    seconds along from 0 to `longest`, the target dashed."""
    left, top, right, bottom = box
    values = [value for _, points in lines for _, value in points] + ([target] if target is not None else [])
    spread = (max(values) - min(values)) or 1.0
    low, high = min(values) - 0.05 * spread, max(values) + 0.05 * spread

    def at(seconds, value):
        return (left + (right - left) * seconds / longest, bottom - (bottom - top) * (value - low) / (high - low))

    draw.rectangle(box, outline=(160, 160, 160))
    draw.text((left, top - 14), title, fill="black")
    for fraction in (0.0, 0.5, 1.0):  # the scale, right-aligned against the panel's own axis
        value = low + fraction * (high - low)
        draw.text((left - 4, at(0, value)[1]), f"{value:.3g}", fill=GREY, anchor="rm")
    draw.text((left, bottom + 2), "0 s", fill=GREY)
    draw.text((right, bottom + 2), f"{longest:.0f} s of training", fill=GREY, anchor="ra")
    if target is not None:
        target_y = at(0, target)[1]
        for x in range(int(left), int(right), 8):
            draw.line((x, target_y, x + 4, target_y), fill=(120, 120, 120))
    for colour, points in lines:
        line = [at(seconds, value) for seconds, value in points]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
