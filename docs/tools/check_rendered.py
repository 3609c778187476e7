"""Render pages of the built site in headless Chromium, offline, and check the maths.

    mkdocs build --strict --site-dir site
    python docs/tools/check_rendered.py site lstm/ gru/ [--screenshots DIR] [--width 1280]
    python docs/tools/check_rendered.py site --all --screenshots DIR

Serves SITE on 127.0.0.1 (a free port), loads each page with Chromium (network limited to
that server, a fresh profile per run), lets MathJax run, and reads the DOM back. A page
passes when **every arithmatex element holds exactly one** typeset ``mjx-container`` (none:
the formula shows as raw TeX; two: it was typeset twice, which screen readers read twice)
and no TeX delimiter or command is left in the visible text. Also lists any request the
page made that the server could not answer (a missing figure or vendored MathJax file).
With ``--screenshots``, writes one full-window PNG per page. Needs Debian's ``chromium``
(``apt-get install chromium``); ``.ci/docs`` runs it when chromium is installed.
"""

from __future__ import annotations

import argparse
import functools
import html
import html.parser
import http.server
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=15000",
]


class _TypesetCounter(html.parser.HTMLParser):
    """Counts the mjx-container elements inside each element of class ``arithmatex``."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []  # open tags
        self.inside: list[int] = []  # stack depth at which each open arithmatex started
        self.counts: list[int] = []  # one entry per arithmatex element, in document order

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "mjx-container" and self.inside:
            self.counts[-1] += 1
        if "arithmatex" in classes:
            self.inside.append(len(self.stack))
            self.counts.append(0)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in _VOID or tag not in self.stack:
            return
        while self.stack:
            if self.stack.pop() == tag:
                break
        while self.inside and self.inside[-1] >= len(self.stack):
            self.inside.pop()


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def typeset_counts(dom: str) -> list[int]:
    """Number of mjx-containers inside each arithmatex element of a rendered page."""
    parser = _TypesetCounter()
    parser.feed(dom)
    return parser.counts


def dom_problems(url: str, dom: str) -> list[str]:
    """What is wrong with one rendered page (empty: all formulas typeset exactly once)."""
    counts = typeset_counts(dom)
    problems = []
    missing = sum(1 for c in counts if c == 0)
    doubled = [c for c in counts if c > 1]
    if missing:
        problems.append(f"{url}: {missing} of {len(counts)} formulas not typeset")
    if doubled:
        problems.append(f"{url}: {len(doubled)} of {len(counts)} formulas typeset more than once "
                        f"(up to {max(doubled)} times)")
    text = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", dom, flags=re.S)
    text = re.sub(r"<mjx-container.*?</mjx-container>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    raw = re.findall(r"\\\(|\\\[|\$\$|\\(?:frac|bar|odot|sigma|tanh|sum|partial)\b", text)
    if raw:
        problems.append(f"{url}: raw TeX left in the page: {sorted(set(raw))}")
    return problems


def render(chromium: str, profile: str, url: str, *extra: str) -> str:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=180).stdout


def check_page(url: str, chromium: str, profile: str, screenshot: str | None, width: int,
               height: int = 1600) -> list[str]:
    dom = render(chromium, profile, url, "--dump-dom")
    counts = typeset_counts(dom)
    problems = dom_problems(url, dom)
    print(f"{url}: {len(counts)} formulas, {sum(counts)} typeset (once each: {all(c == 1 for c in counts)})")
    if screenshot:
        render(chromium, profile, url, f"--screenshot={screenshot}", f"--window-size={width},{height}")
        print(f"  screenshot: {screenshot}")
    return problems


def all_pages(site: pathlib.Path) -> list[str]:
    rels = (p.parent.relative_to(site).as_posix() for p in site.glob("**/index.html"))
    return sorted("" if r == "." else r + "/" for r in rels if not r.startswith(("assets", "search")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site")
    ap.add_argument("pages", nargs="*", help="paths inside the site, e.g. lstm/")
    ap.add_argument("--all", action="store_true", help="every page of the site")
    ap.add_argument("--screenshots", help="folder for one PNG per page")
    ap.add_argument("--width", type=int, default=1280, help="window width of the screenshots (px)")
    ap.add_argument("--overflow", type=int, metavar="WIDTH",
                    help="also list display formulas wider than the text column in a WIDTH-px window")
    ap.add_argument("--height", type=int, default=1600,
                    help="window height (px); a tall window captures a whole page in one screenshot")
    args = ap.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("check_rendered: chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    pages = all_pages(pathlib.Path(args.site)) if args.all else args.pages
    if not pages:
        ap.error("name pages or pass --all")
    if args.screenshots:
        pathlib.Path(args.screenshots).mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Handler, directory=args.site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems = []
    try:
        with tempfile.TemporaryDirectory(prefix="minidl-chromium-") as profile:
            for page in pages:
                shot = None
                if args.screenshots:
                    name = page.strip("/").replace("/", "_") or "index"
                    shot = str(pathlib.Path(args.screenshots) / f"{name}.png")
                problems += check_page(base + page.lstrip("/"), chromium, profile, shot, args.width, args.height)
                if args.overflow:
                    wide = wide_formulas(base, page, chromium, profile, args.overflow)
                    for w in wide:
                        print("  " + w)
                    problems += [w for w in wide if "did not finish" in w]
    finally:
        server.shutdown()
    if _Handler.missing:
        problems.append(f"requests the site could not answer: {sorted(set(_Handler.missing))}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


class _Handler(http.server.SimpleHTTPRequestHandler):
    missing: list[str] = []

    def log_message(self, fmt, *args):  # quiet, but remember what could not be served
        if len(args) > 1 and str(args[1]).startswith("4") and "favicon.ico" not in str(args[0]):
            _Handler.missing.append(str(args[0]))

    def do_GET(self):
        if self.path.startswith("/__overflow__/"):
            target, _, width = self.path[len("/__overflow__/"):].partition("?w=")
            body = _OVERFLOW_PAGE.replace("TARGET", "/" + target).replace("WIDTH", width or "1280").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


# Loads a page in an iframe of the given width, waits for MathJax, and lists every display
# formula wider than its box (it would scroll at that window width), with its TeX.
_OVERFLOW_PAGE = """<!doctype html><html><body>
<iframe id="f" src="TARGET" style="width:WIDTHpx;height:900px;border:0"></iframe>
<pre id="out">pending</pre>
<script>
const f = document.getElementById("f");
f.onload = () => {
  const w = f.contentWindow;
  const go = () => {
    if (!w.MathJax || !w.MathJax.startup || !w.MathJax.startup.promise) { setTimeout(go, 50); return; }
    w.MathJax.startup.promise.then(() => {
      const wide = [];
      for (const item of w.MathJax.startup.document.math) {
        const box = item.typesetRoot && item.typesetRoot.closest("div.arithmatex");
        if (box && box.scrollWidth > box.clientWidth + 1) {
          const tex = typeof item.math === "string" ? item.math : "";
          wide.push(box.scrollWidth + " > " + box.clientWidth + " px: " + tex.replace(/\\s+/g, " ").slice(0, 120));
        }
      }
      document.getElementById("out").textContent = "OVERFLOW-DONE\\n" + wide.join("\\n");
    });
  };
  go();
};
</script></body></html>"""


def wide_formulas(base: str, page: str, chromium: str, profile: str, width: int) -> list[str]:
    """Display formulas of a page wider than the text column at a window ``width`` px wide."""
    dom = render(chromium, profile, f"{base}__overflow__/{page.lstrip('/')}?w={width}",
                 "--dump-dom", f"--window-size={width + 40},1000")
    m = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    if not m or "OVERFLOW-DONE" not in m.group(1):
        return [f"{page}: the overflow check did not finish"]
    lines = [html.unescape(x) for x in m.group(1).split("\n")[1:] if x.strip()]
    return [f"{page}: wide formula at {width} px, {x}" for x in lines]


if __name__ == "__main__":
    sys.exit(main())
