// MathJax 3 configuration for pymdownx.arithmatex (generic mode), which wraps inline math
// in \( ... \) and display math in \[ ... \] inside elements of class "arithmatex".
// MathJax itself is vendored under docs/assets/mathjax/, so equations render offline.
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

// mkdocs-material's instant navigation swaps pages without a reload; typeset each new one.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
