#!/usr/bin/env node
// Check that every formula in the docs parses, with MathJax's own TeX parser (mathjax-full,
// the same version as the vendored mathjax@3.2.2 and the same TeX packages the site loads).
//
//   node docs/tools/check_math.cjs docs/            Markdown: $..$, $$..$$, \(..\), \[..\],
//                                                   \begin{..}..\end{..}; reports FILE:LINE
//   node docs/tools/check_math.cjs --site site/     built HTML: every arithmatex element
//                                                   (chapters AND the docstrings rendered by
//                                                   mkdocstrings), plus TeX left untypeset
//
// Exit status 1 on any broken formula, with one "where: message  in: formula" line each.
// An undefined macro is an error here (the browser would show it in red), and so is a
// macro that needs an extension MathJax would autoload: nothing is loaded from a CDN.
"use strict";

const fs = require("fs");
const path = require("path");
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { STATE } = require("mathjax-full/js/core/MathItem.js");
require("mathjax-full/js/input/tex/base/BaseConfiguration.js");
require("mathjax-full/js/input/tex/ams/AmsConfiguration.js");
require("mathjax-full/js/input/tex/newcommand/NewcommandConfiguration.js");
require("mathjax-full/js/input/tex/configmacros/ConfigMacrosConfiguration.js");

// tex-mml-chtml.js bundles base, ams, newcommand, configmacros (+ noundefined, which only
// hides errors, and autoload/require, which docs/javascripts/mathjax.js switches off).
const PACKAGES = ["base", "ams", "newcommand", "configmacros"];

RegisterHTMLHandler(liteAdaptor());
const doc = mathjax.document("", {
  InputJax: new TeX({
    packages: PACKAGES,
    formatError: (_jax, err) => {
      throw err;
    },
  }),
});

function texError(tex, display) {
  try {
    doc.convert(tex, { display, end: STATE.CONVERT });
    return null;
  } catch (e) {
    return (e && e.message) || String(e);
  }
}

const problems = [];
let checked = 0;

function check(where, tex, display) {
  checked += 1;
  // A control character in a formula is almost always an eaten backslash ("\t" of
  // "\times" or "\tanh" written through a string escape); TeX would silently accept it.
  const ctrl = tex.match(/[\x00-\x09\x0b-\x1f]/);
  if (ctrl) {
    problems.push(`${where}: control character U+${ctrl[0].charCodeAt(0).toString(16).padStart(4, "0")} in formula (an eaten backslash?)  in: ${oneLine(tex)}`);
    return;
  }
  const err = texError(tex, display);
  if (err) problems.push(`${where}: ${err}  in: ${oneLine(tex)}`);
}

function oneLine(s) {
  s = s.replace(/\s+/g, " ").trim();
  return s.length > 160 ? s.slice(0, 157) + "..." : s;
}

// ------------------------------------------------------------------------------ Markdown
// Mirrors pymdownx.arithmatex (generic, smart_dollar): inline $x$ (no space just inside
// the dollars) and \(x\); block $$..$$, \[..\] and \begin{env}..\end{env} as their own
// paragraph. Code (fenced blocks, inline `code`) and snippet lines are skipped.
const INLINE_DOLLAR = /(?<!\\)\$(?!\s)((?:\\.|[^\\$])+?)(?<!\s)\$/gs;
const INLINE_PAREN = /(?<!\\)\\\((.+?)\\\)/gs;

function blankCode(line) {
  // replace inline code spans by spaces, keeping columns
  return line.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (m) => " ".repeat(m.length));
}

function checkMarkdown(file) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  let fence = null; // the opening fence (``` or ~~~, possibly longer) while in code
  let para = []; // [lineNumber, text] of the current paragraph
  const flush = () => {
    if (para.length) checkParagraph(file, para);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const m = raw.match(/^\s*(`{3,}|~{3,})/);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && raw.trim() === m[1]) fence = null;
      continue;
    }
    if (m) {
      flush();
      fence = m[1];
      continue;
    }
    if (/^\s*-{1,2}8<-{1,2}/.test(raw) || raw.trim() === "") {
      flush();
      continue;
    }
    para.push([i + 1, raw]);
  }
  flush();
}

function checkParagraph(file, para) {
  // Block math: the paragraph (or a run of its lines) opened by $$, \[ or \begin{env}.
  const rest = [];
  for (let k = 0; k < para.length; k++) {
    const [ln, text] = para[k];
    const t = text.trim().replace(/^(>\s*)+/, "");
    let open = null;
    let close = null;
    if (t.startsWith("$$")) [open, close] = ["$$", "$$"];
    else if (t.startsWith("\\[")) [open, close] = ["\\[", "\\]"];
    else {
      const env = t.match(/^\\begin\{([a-zA-Z*]+)\}/);
      if (env) [open, close] = ["", `\\end{${env[1]}}`];
    }
    if (open === null) {
      rest.push(para[k]);
      continue;
    }
    let body = t.slice(open.length);
    let j = k;
    const ends = (s) => s.trimEnd().endsWith(close) && (open === "" || s.trimEnd().length >= close.length);
    let closed = open === "" ? ends(body) : body.length >= close.length && ends(body);
    while (!closed && j + 1 < para.length) {
      j += 1;
      body += "\n" + para[j][1].trim().replace(/^(>\s*)+/, "");
      closed = ends(body);
    }
    if (!closed) {
      problems.push(`${file}:${ln}: display math opened with '${open || t.slice(0, 20)}' is never closed`);
      checked += 1;
    } else {
      const tex = open === "" ? body : body.trimEnd().slice(0, -close.length);
      check(`${file}:${ln}`, tex, true);
    }
    k = j;
  }
  // Inline math over the remaining lines of the paragraph, joined (a formula may wrap).
  if (!rest.length) return;
  const starts = [];
  let joined = "";
  for (const [ln, text] of rest) {
    starts.push([joined.length, ln]);
    joined += blankCode(text) + "\n";
  }
  const lineAt = (pos) => {
    let ln = starts[0][1];
    for (const [s, l] of starts) if (s <= pos) ln = l;
    return ln;
  };
  let masked = joined;
  for (const re of [INLINE_PAREN, INLINE_DOLLAR]) {
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(masked)) !== null) {
      check(`${file}:${lineAt(m.index)}`, m[1], false);
      masked = masked.slice(0, m.index) + " ".repeat(m[0].length) + masked.slice(m.index + m[0].length);
      re.lastIndex = m.index + m[0].length;
    }
  }
  // What is left must hold no math delimiter, or it would reach the reader as raw TeX.
  const stray = /(?<!\\)\$|(?<!\\)\\[()[\]]/g;
  let s;
  while ((s = stray.exec(masked)) !== null) {
    checked += 1;
    problems.push(
      `${file}:${lineAt(s.index)}: unmatched math delimiter '${s[0]}' (a '$' needs no space just ` +
        `inside it; write \\$ for a dollar sign)  near: ${oneLine(joined.slice(Math.max(0, s.index - 30), s.index + 40))}`,
    );
  }
}

// ------------------------------------------------------------------------------ HTML
const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'", "&#x27;": "'" };
const unescape = (s) => s.replace(/&(lt|gt|amp|quot|#39|#x27);/g, (m) => ENTITIES[m]);

function checkHtml(file, sources) {
  const html = fs.readFileSync(file, "utf8");
  const re = /<(span|div) class="arithmatex">([\s\S]*?)<\/\1>/g;
  let m;
  while ((m = re.exec(html)) !== null) {
    let tex = unescape(m[2]).trim();
    let display = m[1] === "div";
    if (tex.startsWith("\\(") && tex.endsWith("\\)")) tex = tex.slice(2, -2);
    else if (tex.startsWith("\\[") && tex.endsWith("\\]")) tex = tex.slice(2, -2);
    else display = true; // \begin{env} ... \end{env}
    const before = problems.length;
    check(file, tex, display);
    if (problems.length > before) problems[problems.length - 1] += locate(tex, sources);
  }
  // TeX that did not become an arithmatex element would be shown raw.
  const text = html
    .replace(/<(script|style|pre|code)\b[\s\S]*?<\/\1>/g, " ")
    .replace(re, " ")
    .replace(/<[^>]+>/g, " ");
  const stray = /(?<!\\)\$\$|\\\(|\\\[|(?<!\\)\$[^$\s<>][^$<>]*?\\[a-zA-Z]+[^$<>]*?\$/g;
  let s;
  while ((s = stray.exec(text)) !== null) {
    checked += 1;
    problems.push(`${file}: TeX left untypeset: ${oneLine(unescape(s[0]))}` + locate(unescape(s[0]), sources));
  }
}

function locate(tex, sources) {
  // best effort: FILE:LINE of the Markdown or docstring that holds the formula
  const needle = tex.trim().split("\n")[0].slice(0, 40);
  if (needle.length < 3) return "";
  for (const f of sources) {
    const lines = fs.readFileSync(f, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes(needle));
    if (i >= 0) return `  (source: ${f}:${i + 1})`;
  }
  return "";
}

function walk(p, ext, out = []) {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      walk(path.join(p, name), ext, out);
    }
  } else if (p.endsWith(ext)) out.push(p);
  return out;
}

function main(argv) {
  const md = [];
  let site = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--site") site = argv[++i];
    else md.push(argv[i]);
  }
  if (!md.length && !site) {
    console.error("usage: check_math.cjs [MARKDOWN_FILE_OR_DIR ...] [--site SITE_DIR]");
    return 2;
  }
  for (const p of md) for (const f of walk(p, ".md")) checkMarkdown(f);
  if (site) {
    const sources = [...walk("docs", ".md"), ...(fs.existsSync("minidl") ? walk("minidl", ".py") : [])];
    for (const f of walk(site, ".html")) checkHtml(f, sources);
  }
  for (const p of problems) console.error(p);
  const what = site ? `in ${md.length ? md.join(" ") + " and " : ""}${site}` : `in ${md.join(" ")}`;
  console.log(`check_math: ${checked} formulas ${what}, ${problems.length} broken`);
  return problems.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
