"""Render pages of the built site in headless Chromium, offline, and check the maths.

    mkdocs build --strict --site-dir /tmp/site
    python docs/tools/check_rendered.py /tmp/site lstm/ gru/ [--screenshot /tmp/lstm.png]

Serves SITE on 127.0.0.1 (a free port), loads each page with Chromium's network limited to
that server, lets MathJax run, and reads the DOM back. A page passes when every arithmatex
element became a typeset ``mjx-container`` and no TeX delimiter or command is left in the
visible text. Also lists any request the page made that the server could not answer (a
missing vendored MathJax file would show here). Needs Debian's ``chromium``; not run by CI.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=15000",
]


class _Handler(http.server.SimpleHTTPRequestHandler):
    missing: list[str] = []

    def log_message(self, fmt, *args):  # quiet, but remember what could not be served
        if len(args) > 1 and str(args[1]).startswith("4"):
            _Handler.missing.append(str(args[0]))


def check_page(url: str, chromium: str, screenshot: str | None) -> list[str]:
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, "--dump-dom", url], capture_output=True, text=True,
                         timeout=180).stdout
    problems = []
    n_math = len(re.findall(r'class="arithmatex"', dom))
    n_typeset = len(re.findall(r"<mjx-container", dom))
    text = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", dom, flags=re.S)
    text = re.sub(r"<mjx-container.*?</mjx-container>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    raw = re.findall(r"\\\(|\\\[|\$\$|\\(?:frac|bar|odot|sigma|tanh|sum|partial)\b", text)
    if n_typeset < n_math:
        problems.append(f"{url}: {n_math} formulas, only {n_typeset} typeset")
    if raw:
        problems.append(f"{url}: raw TeX left in the page: {sorted(set(raw))}")
    print(f"{url}: {n_math} arithmatex elements, {n_typeset} typeset by MathJax, raw TeX left: {len(raw)}")
    if screenshot:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1200,1600", url],
                       capture_output=True, timeout=180)
        print(f"  screenshot: {screenshot}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site")
    ap.add_argument("pages", nargs="+", help="paths inside the site, e.g. lstm/")
    ap.add_argument("--screenshot", help="PNG path for a screenshot of the first page")
    args = ap.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("check_rendered: chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    handler = functools.partial(_Handler, directory=args.site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems = []
    try:
        for i, page in enumerate(args.pages):
            problems += check_page(base + page.lstrip("/"), chromium, args.screenshot if i == 0 else None)
    finally:
        server.shutdown()
    if _Handler.missing:
        problems.append(f"requests the site could not answer: {sorted(set(_Handler.missing))}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
