// MathJax 3 configuration for pymdownx.arithmatex (generic mode), which wraps inline math
// in \( ... \) and display math in \[ ... \] inside elements of class "arithmatex".
// MathJax itself is vendored under docs/assets/mathjax/, so equations render offline.
//
// Every formula must be typeset exactly once. MathJax typesets the page by itself when it
// starts; mkdocs-material's `document$` also emits on that first load (and again on each
// page swap when instant navigation is on). Re-typesetting on every emission, as the
// theme's usual recipe does, typeset each formula twice on the first page: two
// mjx-containers per formula (invisible on screen, doubled for screen readers).
// docs/tools/check_rendered.py counts them in a real browser and fails on anything but
// one container per formula.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    // Only the extensions bundled in tex-mml-chtml.js: an autoloaded one would be fetched
    // from a file that is not vendored. docs/tools/check_math.cjs uses the same set.
    packages: { "[-]": ["autoload", "require"] },
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Typeset only the formulas that have no output yet, after any typesetting in progress
// (MathJax's own first pass included: chaining on startup.promise serialises them).
function typesetNewFormulas() {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return; // not loaded yet: its startup pass will do it
  MathJax.startup.promise = MathJax.startup.promise.then(() => {
    const fresh = Array.from(document.querySelectorAll(".arithmatex")).filter(
      (el) => !el.querySelector("mjx-container"),
    );
    if (!fresh.length) return null; // the first load: already typeset once
    MathJax.typesetClear(); // forget the formulas of the page that was swapped out
    MathJax.texReset();
    return MathJax.typesetPromise(fresh);
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(typesetNewFormulas);
}
