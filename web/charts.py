"""Server-side SVG charts: horizontal bars and vertical columns whose bars link to the rows
behind them. Every label is escaped; no inline styles (colours are attributes and CSS)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 560
COLOURS = ("#2357c6", "#1e7b34", "#c77700", "#b3261e")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text}{unit}"


def _link(href: str | None, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def bars(items: list[tuple], unit: str = "", title: str = "", limit: float | None = None) -> Markup:
    """Horizontal bars: items are (label, value, href); None values show as '–'."""
    row, label_w = 26, 190
    height = max(row * len(items) + 10, 40)
    top = limit or max([v for _, v, _ in items if v is not None] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="group" aria-label="{escape(title)}" class="bars">']
    for i, (label, value, href) in enumerate(items):
        y = 5 + i * row
        length = 0 if value is None else max(1.0, (WIDTH - label_w - 70) * value / top)
        bar = (f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{row - 8}" '
               f'fill="{COLOURS[0]}"><title>{escape(label)}: {_number(value, unit)}</title></rect>')
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row / 2}" text-anchor="end" font-size="12">'
            f'{escape(str(label)[:32])}</text>'
            + _link(href, bar)
            + f'<text x="{label_w + length + 5:.1f}" y="{y + row / 2}" font-size="12">'
            f'{_number(value, unit)}</text>'
        )
    if not items:
        parts.append('<text x="10" y="25" font-size="13">No data in this period.</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(items: list[tuple], unit: str = "", title: str = "",
            limit: float | None = None) -> Markup:
    """Vertical columns (e.g. a distribution or a trend): items are (label, value, href)."""
    height, base, left = 220, 190, 10
    top = limit or max([v for _, v, _ in items if v is not None] + [1])
    step = (WIDTH - left * 2) / max(len(items), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="group" aria-label="{escape(title)}" class="columns">',
             f'<line x1="{left}" y1="{base}" x2="{WIDTH - left}" y2="{base}" stroke="#999"/>']
    for i, (label, value, href) in enumerate(items):
        x = left + i * step
        h = 0 if value is None else (base - 25) * value / top
        column = (f'<rect x="{x + step * 0.15:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
                  f'height="{h:.1f}" fill="{COLOURS[0]}"><title>{escape(label)}: '
                  f'{_number(value, unit)}</title></rect>')
        parts.append(
            _link(href, column)
            + f'<text x="{x + step / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
            f'font-size="11">{_number(value, unit)}</text>'
            f'<text x="{x + step / 2:.1f}" y="{base + 14}" text-anchor="middle" font-size="10">'
            f'{escape(str(label)[:12])}</text>'
        )
    if not items:
        parts.append('<text x="10" y="25" font-size="13">No data in this period.</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked(items: list[tuple], keys: tuple[str, ...], title: str = "") -> Markup:
    """Horizontal 100 % stacked bars: items are (label, {key: count}, href); a legend on top."""
    row, label_w, legend = 26, 190, 24
    height = legend + row * len(items) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="group" aria-label="{escape(title)}" class="stacked">']
    for j, key in enumerate(keys):
        parts.append(f'<rect x="{label_w + j * 95}" y="4" width="12" height="12" '
                     f'fill="{COLOURS[j % 4]}"/><text x="{label_w + j * 95 + 16}" y="14" '
                     f'font-size="11">{escape(key.replace("_", " & "))}</text>')
    span = WIDTH - label_w - 10
    for i, (label, counts, href) in enumerate(items):
        y = legend + i * row
        total = sum(counts.values()) or 1
        x = label_w
        segments = []
        for j, key in enumerate(keys):
            w = span * counts.get(key, 0) / total
            segments.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 8}" '
                            f'fill="{COLOURS[j % 4]}"><title>{escape(label)} {escape(key)}: '
                            f'{counts.get(key, 0)}</title></rect>')
            x += w
        parts.append(f'<text x="{label_w - 6}" y="{y + row / 2}" text-anchor="end" '
                     f'font-size="12">{escape(str(label)[:32])}</text>'
                     + _link(href, "".join(segments)))
    if not items:
        parts.append(f'<text x="10" y="{legend + 20}" font-size="13">No reviewed replies in '
                     'this period.</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
