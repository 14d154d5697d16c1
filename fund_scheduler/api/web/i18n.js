/* fund-scheduler dashboard: the page's language (loaded before the other scripts).
 *
 * The server renders index.html in the request's language and puts the scripts' messages for it
 * in <script type="application/json" id="i18n-catalogue"> (data, never run: the CSP holds).
 * window.fsI18n:
 *   t("Run {job}", {job: "x"})    the message in the page's language, {name}s filled in
 *   tn("{n} run", "{n} runs", n)  the form for n ({n} filled in)
 *   lang                          "en" or "zh_CN"; locale: "en" or "zh-CN" (for Intl)
 * Every message passed to t / tn is a literal, so `python scripts/i18n.py update` finds it.
 */
"use strict";

(function () {
  const node = document.getElementById("i18n-catalogue");
  let catalogue = {};
  try {
    catalogue = node ? JSON.parse(node.textContent || "{}") : {};
  } catch (_err) {
    catalogue = {};
  }
  const lang = document.documentElement.getAttribute("data-lang") || "en";

  function fill(text, params) {
    if (!params) return text;
    return text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
    );
  }

  function t(message, params) {
    const found = catalogue[message];
    return fill(typeof found === "string" && found ? found : message, params);
  }

  function tn(singular, plural, n, params) {
    const forms = catalogue[singular];
    const all = Object.assign({ n }, params || {});
    if (Array.isArray(forms) && forms.length) {
      // Chinese has one form; a two-form language picks by n.
      const text = forms.length === 1 ? forms[0] : forms[n === 1 ? 0 : 1];
      if (text) return fill(text, all);
    }
    return fill(n === 1 ? singular : plural, all);
  }

  window.fsI18n = Object.freeze({ t, tn, lang, locale: lang.replace("_", "-") });
})();
