#!/usr/bin/env bash
# Copy the parts of the npm package mathjax@3.2.2 the site needs into docs/assets/mathjax/:
# the combined TeX+MathML -> CommonHTML component and the woff-v2 fonts it loads.
# Usage: (cd docs/tools && npm ci) && bash docs/tools/vendor_mathjax.sh [--check]
# With --check, only verify that the vendored copy equals the package (CI does this).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/node_modules/mathjax/es5"
dst="$here/../assets/mathjax/es5"
files=(tex-mml-chtml.js)
for f in "$src"/output/chtml/fonts/woff-v2/*.woff; do
  files+=("output/chtml/fonts/woff-v2/$(basename "$f")")
done
if [ "${1:-}" = "--check" ]; then
  for f in "${files[@]}"; do
    cmp -s "$src/$f" "$dst/$f" || { echo "vendored MathJax differs from npm mathjax@3.2.2: $f" >&2; exit 1; }
  done
  echo "vendored MathJax: ${#files[@]} files equal to npm mathjax@3.2.2"
  exit 0
fi
rm -rf "$dst"
for f in "${files[@]}"; do
  mkdir -p "$(dirname "$dst/$f")"
  cp "$src/$f" "$dst/$f"
done
cp "$here/node_modules/mathjax/LICENSE" "$here/../assets/mathjax/LICENSE"
echo "copied ${#files[@]} files to $dst"
