// Amounts written by a console page's script exactly as the server writes them on the same page
// (recaudo_common.money.format_amount, Babel's CLDR): the page carries the style the server derived for the client
// company's currency and locale (money.amount_style, as JSON in a data-amounts attribute), and this writes a
// decimal in it. Not Intl.NumberFormat: each browser's ICU has its own CLDR data (Chromium's writes es-CO's
// "$ 1.500.000,00" where the server writes "$1.500.000,00"), so an operator would read one amount two ways.
"use strict";
(function () {
  const DECIMAL = /^\d+(\.\d+)?$/;

  // A writer of amounts in `style` ({prefix, suffix, negative_prefix, negative_suffix, group, decimal, places}):
  // the value (a decimal string as the API answers, or a number) rounded half to even to the currency's decimals
  // as Babel rounds, thousands grouped by three.
  window.recaudoAmounts = function (style) {
    const places = Number(style.places);
    return function (value) {
      let text = String(value).trim();
      const negative = text.startsWith("-");
      if (negative) text = text.slice(1);
      if (!DECIMAL.test(text)) text = Math.abs(Number(value)).toFixed(Math.max(places, 6));  // 1e-7 and the like
      const [whole, fraction = ""] = text.split(".");
      let units = BigInt(whole + fraction.slice(0, places).padEnd(places, "0"));
      const rest = fraction.slice(places);
      if (rest && (rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || units % 2n === 1n)))) {
        units += 1n;
      }
      const digits = units.toString().padStart(places + 1, "0");
      const integer = digits.slice(0, digits.length - places).replace(/\B(?=(\d{3})+(?!\d))/g, style.group);
      const figure = places ? integer + style.decimal + digits.slice(digits.length - places) : integer;
      // Signed as written, as Babel does: -0.001 COP is -$0,00.
      return negative ? style.negative_prefix + figure + style.negative_suffix : style.prefix + figure + style.suffix;
    };
  };
})();
