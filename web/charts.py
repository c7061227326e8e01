"""Server-side SVG charts: horizontal bars, vertical columns and 100 % stacked bars whose bars
link to the rows behind them. Every label is escaped; no inline styles (colours are
attributes and CSS).

Readable by design: text is FONT user units and a chart is never drawn narrower than
MIN_WIDTH px (web/static/css/app.css scrolls it inside its figure instead), so no text is
under 12 px; labels wrap onto more lines rather than being cut; colours are the Okabe-Ito
palette, told apart with any colour vision; a bar may carry a note (e.g. how many reviews
it stands for) and a chart a pass line."""

from __future__ import annotations

import math

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 560
MIN_WIDTH = 480  # px, in app.css: FONT * MIN_WIDTH / WIDTH >= 12
FONT = 14
CHAR = 0.62 * FONT  # a generous average advance per character, to wrap and place text
LINE = FONT + 4
# Okabe & Ito (2008), "Color Universal Design": blue, bluish green, orange, vermillion, sky
# blue, reddish purple
PALETTE = ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#56B4E9", "#CC79A7")
PASS_COLOUR = "#000000"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text}{unit}"


def _pass(score: float, unit: str) -> str:
    """The pass line's label, in the request's language."""
    return _("pass %(score)s", score=_number(score, unit))


def _link(href: str | None, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def wrap(text: str, width: float) -> list[str]:
    """`text` in lines of at most `width` user units (estimated), broken at spaces, or
    anywhere in a word longer than a line (Thai has no spaces); nothing is left out."""
    per_line = max(int(width // CHAR), 4)
    lines: list[str] = []
    for word in str(text).split():
        while len(word) > per_line:
            lines.append(word[:per_line])
            word = word[per_line:]
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _text(x: float, y: float, lines: list[str], anchor: str = "start",
          extra: str = "") -> str:
    """A text element, one tspan per line (the first line's baseline at y)."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"'
            f'{extra}>{spans}</text>')


def _item(item: tuple) -> tuple:
    """(label, value, href, note) of an item given as (label, value, href[, note])."""
    label, value, href, *rest = item
    return label, value, href, (rest[0] if rest else "")


def _svg(height: float, title: str, kind: str) -> str:
    """The chart's <svg>, laid out left to right on every page: on a right-to-left page its
    text would inherit `direction: rtl` and run out of the chart to the left of its x."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {math.ceil(height)}" '
            f'role="group" aria-label="{escape(title)}" class="{kind}" direction="ltr">')


def bars(items: list[tuple], unit: str = "", title: str = "", limit: float | None = None,
         pass_line: float | None = None) -> Markup:
    """Horizontal bars, each under its (wrapped) label: items are (label, value, href) or
    (label, value, href, note); None values show as '–'. `pass_line`: a dashed line at that
    value, labelled."""
    items = [_item(i) for i in items]
    left, value_room, bar_h = 6, 150, 16
    span = WIDTH - left - value_room
    top = limit or max([v for _, v, _, _ in items if v is not None] + [1])
    parts, y = [], LINE + 6 if pass_line is not None else 4
    for label, value, href, note in items:
        lines = wrap(label, WIDTH - 2 * left)
        y += FONT
        parts.append(_text(left, y, lines, extra=' class="label"'))
        y += LINE * (len(lines) - 1) + 6
        length = 0 if value is None else max(1.0, span * value / top)
        bar = (f'<rect x="{left}" y="{y:.1f}" width="{length:.1f}" height="{bar_h}" '
               f'fill="{PALETTE[0]}"><title>{escape(label)}: {_number(value, unit)}'
               f'{" (" + escape(note) + ")" if note else ""}</title></rect>')
        shown = _number(value, unit) + (f" · {note}" if note else "")
        parts.append(_link(href, bar) + _text(left + length + 6, y + bar_h - 3, [shown]))
        y += bar_h + 10
    if pass_line is not None and items:
        x = left + span * pass_line / top
        parts.insert(0, f'<line x1="{x:.1f}" y1="{LINE}" x2="{x:.1f}" y2="{y - 6:.1f}" '
                     f'stroke="{PASS_COLOUR}" stroke-dasharray="5 4" class="pass-line"/>'
                     + _text(x, FONT, [_pass(pass_line, unit)], "middle"))
    if not items:
        parts.append(_text(10, 25, [_("No data in this period.")]))
        y = 40
    return Markup(_svg(y, title, "bars") + "".join(parts) + "</svg>")


def columns(items: list[tuple], unit: str = "", title: str = "", limit: float | None = None,
            pass_line: float | None = None) -> Markup:
    """Vertical columns (e.g. a distribution or a trend): items are (label, value, href) or
    (label, value, href, note), the note written under the label. Labels too long for their
    column are slanted rather than cut. `pass_line`: a dashed line at that value."""
    items = [_item(i) for i in items]
    right, plot_h, head = 10, 170, FONT + 8
    texts = [" · ".join([str(label)] + ([note] if note else [])) for label, *_, note in items]
    step = (WIDTH - 2 * right) / max(len(items), 1)
    longest = max([len(str(label)) for label, *_ in items] + [len(n) for *_, n in items] + [1])
    slanted = longest * CHAR > step - 4
    left = right
    if slanted:  # room on the left for the first labels, which run down and to the left
        reach = [len(t) * CHAR * 0.71 - (i + 0.5) * step for i, t in enumerate(texts)]
        left = max(right, max(reach, default=0) + 8)
        step = (WIDTH - left - right) / max(len(items), 1)
    below = (max(map(len, texts), default=1) * CHAR * 0.71 + 2 * LINE) if slanted else (
        2 * LINE + 4)
    base = head + plot_h
    height = base + below + 6
    top = limit or max([v for _, v, _, _ in items if v is not None] + [1])
    parts = [f'<line x1="{left:.1f}" y1="{base}" x2="{WIDTH - right}" y2="{base}" '
             'stroke="#555"/>']
    for i, (label, value, href, note) in enumerate(items):
        x = left + i * step
        h = 0 if value is None else (plot_h - LINE) * value / top
        column = (f'<rect x="{x + step * 0.15:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
                  f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(label)}: '
                  f'{_number(value, unit)}{" (" + escape(note) + ")" if note else ""}'
                  f'</title></rect>')
        centre = x + step / 2
        parts.append(_link(href, column)
                     + _text(centre, base - h - 4, [_number(value, unit)], "middle"))
        lines = [str(label)] + ([note] if note else [])
        if slanted:
            parts.append(_text(centre, base + FONT + 2, [texts[i]], "end",
                               f' transform="rotate(-45 {centre:.1f} {base + FONT + 2})"'))
        else:
            parts.append(_text(centre, base + FONT + 4, lines, "middle"))
    if pass_line is not None and items:
        y = base - (plot_h - LINE) * pass_line / top
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                     f'stroke="{PASS_COLOUR}" stroke-dasharray="5 4" class="pass-line"/>'
                     + _text(WIDTH - right, y - 4, [_pass(pass_line, unit)], "end"))
    if not items:
        parts.append(_text(10, 25, [_("No data in this period.")]))
    return Markup(_svg(height, title, "columns") + "".join(parts) + "</svg>")


def stacked(items: list[tuple], keys: tuple[str, ...], title: str = "",
            labels: dict[str, str] | None = None) -> Markup:
    """Horizontal 100 % stacked bars, each under its label: items are (label, {key: count},
    href) or (label, counts, href, note), or (label, counts, {key: href}[, note]) for a link
    per segment; a legend on top names the keys (`labels`, else the keys)."""
    items = [_item(i) for i in items]
    left, bar_h, note_room = 6, 16, 110
    names = [(labels or {}).get(key, key) for key in keys]
    parts, x, y = [], left, FONT + 3
    for j, name in enumerate(names):  # the legend, wrapping onto more lines when needed
        width = 22 + len(name) * CHAR
        if x + width > WIDTH and x > left:
            x, y = left, y + LINE
        parts.append(f'<rect x="{x:.1f}" y="{y - 12:.1f}" width="14" height="14" '
                     f'fill="{PALETTE[j % len(PALETTE)]}"/>' + _text(x + 18, y, [name]))
        x += width + 12
    y += 8
    span = WIDTH - left - note_room
    for label, counts, href, note in items:
        lines = wrap(label, WIDTH - 2 * left)
        y += FONT
        parts.append(_text(left, y, lines, extra=' class="label"'))
        y += LINE * (len(lines) - 1) + 6
        total = sum(counts.values()) or 1
        x = left
        segments = []
        for j, key in enumerate(keys):
            w = span * counts.get(key, 0) / total
            segment = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                       f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} '
                       f'{escape(names[j])}: {counts.get(key, 0)}</title></rect>')
            segments.append(_link(href.get(key), segment) if isinstance(href, dict)
                            else segment)
            x += w
        joined = "".join(segments)
        parts.append((joined if isinstance(href, dict) else _link(href, joined))
                     + (_text(left + span + 6, y + bar_h - 3, [note]) if note else ""))
        y += bar_h + 10
    if not items:
        parts.append(_text(10, y + 20, [_("No reviewed replies in this period.")]))
        y += 30
    return Markup(_svg(y, title, "stacked") + "".join(parts) + "</svg>")
