"""A very small SVG writer for the course text's diagrams (used by make_diagrams.py).

Nothing here is clever: boxes, circles, lines with arrow heads, text with sub- and
superscripts, polylines for plots. The output is plain, deterministic SVG text (no dates,
no random ids), so regenerating a diagram from unchanged source gives the same bytes and a
test can tell a stale figure from a fresh one.

Colours carry meaning in every diagram: ``FWD`` (blue, solid) is the forward pass and its
values, ``BWD`` (red, dashed) the backward pass and its gradients.

Text markup (``rich``): ``_x`` / ``_{xy}`` subscript, ``^x`` / ``^{xy}`` superscript (``\\_``
is a literal underscore); write
a bar with the combining macron (``bar("h")`` gives h̄). Math labels are set in an italic
serif, prose labels in a sans-serif.

Legibility: the site shows a diagram at most as wide as the text column, which is
``COLUMN_PX`` = 688 px in a 1280-px window with both sidebars open (MkDocs-Material), so a
wider drawing is scaled down by ``COLUMN_PX / width``. Every text, sub- and superscripts
included, is set at least ``MIN_TEXT_PX`` = 12 px *after* that scaling: a drawing raises any
smaller size it is asked for (``Drawing.min_size``), and tests/docs/test_docs_diagrams.py
checks the SVGs.
"""

from __future__ import annotations

import html
import math
import pathlib
import re

FWD = "#1f4e9c"  # forward values
BWD = "#c0392b"  # backward gradients
INK = "#222222"
GREY = "#8a8a8a"
LIGHT = "#eef2f8"
PAD = "#d9d9d9"  # padding cells
NOTE = "#5a5a5a"
ACCENT = ["#f6c85f", "#6fb1e0", "#9fd08a", "#e89bc3", "#c7a4e8", "#f2a36f"]

SANS = "DejaVu Sans, Helvetica, Arial, sans-serif"
SERIF = "DejaVu Serif, Times New Roman, serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"

MACRON = "\u0304"


def bar(s: str) -> str:
    """``bar("h")`` -> "h̄" (a combining macron over the first letter)."""
    return s[0] + MACRON + s[1:]


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


_TOKEN = re.compile(r"(?<!\\)([_^])(\{[^}]*\}|.)")

COLUMN_PX = 688  # the text column of a 1280-px window (MkDocs-Material, both sidebars open)
MIN_TEXT_PX = 12  # the smallest text a reader sees at that width, scripts included


def rich(s: str, size: float, min_small: float = 0.0) -> str:
    """SVG tspans for a label with _sub and ^sup (each script returns to the baseline);
    scripts are 0.75 of ``size`` but never below ``min_small``."""
    out = []
    pos = 0
    for m in _TOKEN.finditer(s):
        out.append(_esc(s[pos : m.start()].replace("\\_", "_").replace("\\^", "^")))
        kind, body = m.group(1), m.group(2)
        body = body[1:-1] if body.startswith("{") else body
        shift = 0.28 * size if kind == "_" else -0.38 * size
        small = max(math.ceil(7.5 * size) / 10, min_small)
        out.append(f'<tspan dy="{shift:.1f}" font-size="{small:.1f}">{_esc(body)}</tspan>'
                   f'<tspan dy="{-shift:.1f}">\u200b</tspan>')
        pos = m.end()
    out.append(_esc(s[pos:].replace("\\_", "_").replace("\\^", "^")))
    return "".join(out)


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Drawing:
    """An SVG canvas of ``width`` x ``height`` user units (pixels at 100%)."""

    def __init__(self, width: float, height: float, title: str, desc: str = ""):
        self.width, self.height = width, height
        # the smallest font size (user units) that is MIN_TEXT_PX once the site scales the
        # drawing down to the column
        self.min_size = math.ceil(10 * MIN_TEXT_PX * max(1.0, width / COLUMN_PX)) / 10  # 0.1 steps, as written
        self.title, self.desc = title, desc
        self.items: list[str] = []
        self.markers: set[str] = set()

    # ---------------------------------------------------------------- primitives
    def rect(self, x, y, w, h, fill="#ffffff", stroke=INK, rx=6, width=1.4, dash=None, opacity=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' fill-opacity="{opacity}"' if opacity is not None else ""
        self.items.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" rx="{_f(rx)}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{extra}/>')

    def circle(self, cx, cy, r, fill="#ffffff", stroke=INK, width=1.4):
        self.items.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="{fill}" stroke="{stroke}" '
                          f'stroke-width="{width}"/>')

    def text(self, x, y, s, size=14, anchor="middle", color=INK, math=False, bold=False, italic=None,
             mono=False, middle=True):
        """Text at (x, y); ``middle``: y is the vertical centre of the text, else its baseline."""
        size = max(size, self.min_size)
        family = MONO if mono else SERIF if math else SANS
        italic = math if italic is None else italic
        style = ' font-style="italic"' if italic else ""
        style += ' font-weight="bold"' if bold else ""
        yy = y + 0.35 * size if middle else y
        self.items.append(f'<text x="{_f(x)}" y="{_f(yy)}" font-family="{family}" font-size="{_f(size)}" '
                          f'text-anchor="{anchor}" fill="{color}"{style}>{rich(s, size, self.min_size)}</text>')

    def _marker(self, color: str) -> str:
        mid = "arrow" + color.lstrip("#")
        self.markers.add(color)
        return mid

    def polyline(self, pts, color=INK, width=1.6, dash=None, arrow=False, arrow_start=False, fill="none"):
        d = " ".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        if arrow:
            extra += f' marker-end="url(#{self._marker(color)})"'
        if arrow_start:
            extra += f' marker-start="url(#{self._marker(color)}s)"'
        self.items.append(f'<polyline points="{d}" fill="{fill}" stroke="{color}" stroke-width="{width}" '
                          f'stroke-linejoin="round"{extra}/>')

    def line(self, x1, y1, x2, y2, color=INK, width=1.6, dash=None, arrow=True):
        self.polyline([(x1, y1), (x2, y2)], color, width, dash, arrow)

    def fwd(self, *pts, width=1.8):
        """A forward arrow through the points."""
        self.polyline(list(pts), FWD, width, None, True)

    def bwd(self, *pts, width=1.6):
        """A backward (gradient) arrow through the points."""
        self.polyline(list(pts), BWD, width, "5,3", True)

    def polygon(self, pts, fill, stroke="none", width=1.0, opacity=None):
        d = " ".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        extra = f' fill-opacity="{opacity}"' if opacity is not None else ""
        self.items.append(f'<polygon points="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{extra}/>')

    # ---------------------------------------------------------------- composites
    def box(self, x, y, w, h, label="", fill=LIGHT, size=14, math=False, stroke=INK, sub=None, rx=6, dash=None):
        """A rounded box with a centred label (and an optional smaller second line)."""
        self.rect(x, y, w, h, fill=fill, stroke=stroke, rx=rx, dash=dash)
        if sub:
            self.text(x + w / 2, y + h / 2 - 0.55 * size, label, size, math=math)
            self.text(x + w / 2, y + h / 2 + 0.65 * size, sub, size * 0.78, color=NOTE)
        elif label:
            self.text(x + w / 2, y + h / 2, label, size, math=math)

    def op(self, cx, cy, label, r=15, fill="#ffffff", size=15):
        """A circle with an operator in it (+, ⊙, σ, tanh)."""
        self.circle(cx, cy, r, fill=fill)
        self.text(cx, cy, label, size if len(label) < 2 else size * 0.72, math=len(label) == 1 and label.isalpha())

    def legend(self, x, y, items=(("forward: values", FWD, None), ("backward: gradients", BWD, "5,3"))):
        size = max(12.5, self.min_size)
        xx = x
        for label, color, dash in items:
            self.polyline([(xx, y), (xx + 34, y)], color, 1.8, dash, True)
            self.text(xx + 42, y, label, size, anchor="start", color=color)
            xx += 42 + 0.6 * size * len(label) + 36  # the next item after this one's text

    # ---------------------------------------------------------------- plots
    def axes(self, x0, y0, w, h, xlim, ylim, xlabel="", ylabel="", xticks=(), yticks=(), grid=True, size=12):
        """A plot frame; returns a function mapping data (x, y) to canvas coordinates."""
        (xa, xb), (ya, yb) = xlim, ylim

        def to(x, y):
            return x0 + (x - xa) / (xb - xa) * w, y0 + h - (y - ya) / (yb - ya) * h

        self.rect(x0, y0, w, h, fill="#ffffff", stroke=GREY, rx=0, width=1)
        for t in xticks:
            px, _ = to(t, ya)
            if grid:
                self.polyline([(px, y0), (px, y0 + h)], "#e4e4e4", 1)
            self.text(px, y0 + h + 12, _tick(t), size * 0.9, color=NOTE)
        for t in yticks:
            _, py = to(xa, t)
            if grid:
                self.polyline([(x0, py), (x0 + w, py)], "#e4e4e4", 1)
            self.text(x0 - 6, py, _tick(t), size * 0.9, anchor="end", color=NOTE)
        if xlabel:
            self.text(x0 + w / 2, y0 + h + 30, xlabel, size, math=False)
        if ylabel:
            cx, cy = x0 - 44, y0 + h / 2
            self.items.append(f'<g transform="rotate(-90 {_f(cx)} {_f(cy)})">')
            self.text(cx, cy, ylabel, size)
            self.items.append("</g>")
        return to

    def curve(self, to, xs, ys, color, width=2.0, dash=None, clip=None):
        pts = []
        for x, y in zip(xs, ys):
            if clip is not None and not (clip[0] <= y <= clip[1]):
                if len(pts) > 1:
                    self.polyline(pts, color, width, dash)
                pts = []
                continue
            pts.append(to(x, y))
        if len(pts) > 1:
            self.polyline(pts, color, width, dash)

    # ---------------------------------------------------------------- output
    def svg(self) -> str:
        defs = []
        for color in sorted(self.markers):
            mid = "arrow" + color.lstrip("#")
            defs.append(f'<marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
            defs.append(f'<marker id="{mid}s" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="7" '
                        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                        f'fill="{color}"/></marker>')
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(self.width)}" height="{_f(self.height)}" '
                f'viewBox="0 0 {_f(self.width)} {_f(self.height)}" role="img" aria-labelledby="title desc">')
        body = [head, f"<title id=\"title\">{_esc(self.title)}</title>",
                f"<desc id=\"desc\">{_esc(self.desc or self.title)}</desc>",
                "<!-- generated by docs/tools/make_diagrams.py: edit the script, not this file -->",
                f"<defs>{''.join(defs)}</defs>",
                f'<rect x="0" y="0" width="{_f(self.width)}" height="{_f(self.height)}" fill="#ffffff"/>',
                *self.items, "</svg>"]
        return "\n".join(body) + "\n"

    def save(self, folder: pathlib.Path, name: str) -> pathlib.Path:
        path = folder / f"{name}.svg"
        tmp = path.with_suffix(".svg.tmp")
        tmp.write_text(self.svg(), encoding="utf-8")
        tmp.replace(path)
        return path


def _tick(t: float) -> str:
    if isinstance(t, str):
        return t
    if t != 0 and (abs(t) >= 1e4 or abs(t) < 1e-2):
        return f"{t:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{t:g}"
