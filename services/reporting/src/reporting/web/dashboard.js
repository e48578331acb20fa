// The recovery dashboard: tiles and charts of the client company's recovery report, with every amount, count,
// percentage and date as the client company's locale writes them (es-CO "$1.500.000,00", "12,5 %", 04/12/2026),
// using the locale and currency the report itself answers with. Amounts are written exactly as the server writes
// them on the account page and in every message (amounts.js, in the style the page carries for that locale and
// currency), not with the browser's Intl, whose CLDR differs (Chromium's writes es-CO's "$ 1.500.000,00").
"use strict";
// Signed in on the console, the session cookie (HttpOnly, sent by the browser) is the credential; a key typed in is
// kept in this variable only, never in localStorage or sessionStorage.
const state = { key: null, clients: [], client: null, stream: null, fmt: null, totals: null, chartRetries: 0 };
const credentials = () => state.key ? { Authorization: "Bearer " + state.key } : {};
const api = async (path) => {
  const r = await fetch(path, { headers: credentials() });
  if (r.status === 401) { state.key = null; document.getElementById("app").hidden = true;
    document.getElementById("login").hidden = false; throw new Error("sin sesión"); }
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
};

// How the server writes amounts, for every locale and currency the product takes ("es-CO COP": the style of
// recaudo_common.money.amount_style), since the company is chosen here, after the page was served.
const STYLES = JSON.parse(document.body.dataset.amounts || "{}");
// The platform's names of groups (channels, arms, "sin asignar"), the exports' words, as the server gives them.
const GROUPS = JSON.parse(document.body.dataset.groups || "{}");

// What a number looks like around its digits in a format (the "$ " before, the " %" after), for chart axes.
function affixes(format, value) {
  const parts = format.formatToParts(value);
  const digits = (p) => ["integer", "group", "decimal", "fraction"].includes(p.type);
  const first = parts.findIndex(digits);
  let last = parts.length - 1;
  while (last >= 0 && !digits(parts[last])) last -= 1;
  const join = (ps) => ps.map((p) => p.value).join("");
  return { prefix: join(parts.slice(0, first)), suffix: join(parts.slice(last + 1)) };
}

// Every formatter the page uses, for one locale and currency.
function formats(locale, currency) {
  // A locale or currency the product does not take has no style: its code before the figure, never a guess.
  const style = STYLES[locale + " " + currency] || { prefix: currency + " ", suffix: "", negative_prefix: "-" +
    currency + " ", negative_suffix: "", group: "", decimal: ".", places: 2 };
  const moneyFormat = window.recaudoAmounts(style);
  const countFormat = new Intl.NumberFormat(locale);
  const rateFormat = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const dayFormat = new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit", year: "numeric",
    timeZone: "UTC" });
  const number = new Intl.NumberFormat(locale).formatToParts(1234567.5);
  const group = (number.find((p) => p.type === "group") || { value: "" }).value;
  const decimal = (number.find((p) => p.type === "decimal") || { value: "." }).value;
  const rate = affixes(rateFormat, 0.5);
  return {
    locale,
    money: (v) => moneyFormat(v),
    count: (v) => countFormat.format(v),
    rate: (v) => v === null || v === undefined ? "—" : rateFormat.format(v),
    // a report's day key (YYYY-MM-DD, the client company's calendar day) as the locale writes a date
    day: (key) => { const [y, m, d] = key.split("-").map(Number); return dayFormat.format(new Date(Date.UTC(y, m - 1, d))); },
    time: (date) => date.toLocaleTimeString(locale),
    // Plotly's separators: the decimal mark, then the thousands mark, as the amounts' (the locale's decimal mark
    // where the currency has no decimals, for the rates)
    separators: (style.decimal || decimal) + (style.group || group),
    // The money ticks as the tiles write amounts: the style's sign and marks, all the currency's decimals. From
    // zero: one day's point alone would otherwise get ticks a fraction of a peso apart. Plotly writes a negative
    // tick's minus after the prefix ("$−5.000,00" where the tiles write "-$5.000,00"), which no tickformat changes;
  // only a group whose reversals exceed its payments goes below zero, and its hover writes the amount as the tiles.
    moneyAxis: { tickformat: ",." + style.places + "f", tickprefix: style.prefix, ticksuffix: style.suffix,
      separatethousands: true, rangemode: "tozero", automargin: true },
    rateAxis: { tickformat: ",.1~f", ticksuffix: rate.suffix, tickprefix: rate.prefix, rangemode: "tozero" },
  };
}

const layout = (title) => ({ title: { text: title, font: { size: 14 } }, margin: { t: 40, r: 10, b: 40, l: 90 },
  legend: { orientation: "h" }, paper_bgcolor: "#fff", plot_bgcolor: "#fff", separators: state.fmt.separators });
const bars = (name, x, values, shown, color) => ({ x, y: values, customdata: shown, type: "bar", name,
  marker: { color }, hovertemplate: "%{x}<br>" + name + ": %{customdata}<extra></extra>" });

function showTotals(t) {
  const f = state.fmt;
  const set = (id, text, raw) => { const el = document.getElementById(id); el.textContent = text; el.dataset.value = raw; };
  set("accounts_placed", f.count(t.accounts_placed), t.accounts_placed);
  set("placed_balance", f.money(t.placed_balance), t.placed_balance);
  set("recovered", f.money(t.recovered), t.recovered);
  for (const k of ["recovery_rate", "contact_rate", "right_party_contact_rate", "ptp_rate", "kept_promise_rate",
                   "cost_ratio", "liquidation_rate"]) set(k, f.rate(t[k]), t[k] === null ? "" : t[k]);
}

async function refreshCharts() {
  const base = `/v1/clients/${state.client.slug}/reports/recovery`;
  const [days, buckets, channels, arms] = await Promise.all(
    ["day", "bucket", "channel", "strategy_arm"].map((g) => api(`${base}?group_by=${g}`)));
  // the report says how its client company writes money, numbers and dates
  state.fmt = formats(days.locale || state.client.locale, days.currency || state.client.currency);
  const f = state.fmt;
  const config = { displayModeBar: false };
  let running = 0;
  const curve = days.groups.map((g) => ({ x: f.day(g.key), y: (running += Number(g.recovered)) }));
  Plotly.react("curve", [{ x: curve.map((p) => p.x), y: curve.map((p) => p.y), customdata: curve.map((p) => f.money(p.y)),
    type: "scatter", mode: "lines+markers", name: "recaudo acumulado", line: { color: "#0b6e4f" },
    hovertemplate: "%{x}<br>recaudo acumulado: %{customdata}<extra></extra>" }],
    { ...layout("Curva de recuperación (acumulado por día)"), xaxis: { type: "category" }, yaxis: f.moneyAxis }, config);
  document.getElementById("curve").dataset.recovered = String(running);  // what the curve reached, for the tests
  // The report is computed at most once a second and shared: asked in the same second as the change the totals
  // announced, the charts may have been given the second's earlier answer. Ask again, a few times, until they agree.
  if (state.totals && Number(state.totals.recovered) !== running && (state.chartRetries = (state.chartRetries || 0) + 1) <= 5) {
    setTimeout(refreshCharts, 1100);
  } else {
    state.chartRetries = 0;
  }
  const b = buckets.groups;
  // A bucket's own label is the client company's word, kept as it is; only the platform's "unassigned" is named.
  const bucketNames = b.map((g) => (g.key === "unassigned" ? GROUPS.unassigned || g.key : g.key));
  Plotly.react("by-bucket", [
    bars("asignado", bucketNames, b.map((g) => Number(g.placed_balance)), b.map((g) => f.money(g.placed_balance)), "#9fb3c8"),
    bars("recaudado", bucketNames, b.map((g) => Number(g.recovered)), b.map((g) => f.money(g.recovered)), "#0b6e4f"),
  ], { ...layout("Asignado vs. recaudado por tramo de mora"), barmode: "group", yaxis: f.moneyAxis }, config);
  const c = channels.groups;
  Plotly.react("by-channel", [bars("recaudado", c.map((g) => GROUPS[g.key] || g.key),
    c.map((g) => Number(g.recovered)), c.map((g) => f.money(g.recovered)), "#2f80ed")],
    { ...layout("Recaudo por canal (último contacto en 7 días)"), yaxis: f.moneyAxis }, config);
  const a = arms.groups;
  Plotly.react("arms", [{ ...bars("tasa de recaudo", a.map((g) => GROUPS[g.key] || g.key),
    a.map((g) => 100 * g.recovery_rate), a.map((g) => f.rate(g.recovery_rate)), "#0b6e4f"),
    marker: { color: ["#0b6e4f", "#f2994a", "#9fb3c8"] } }],
    { ...layout("Campeón vs. retador: tasa de recaudo"), yaxis: f.rateAxis }, config);
}

async function follow() {
  if (state.stream) state.stream.abort();
  state.totals = null;  // another client company's, or a stream's before this one
  const controller = new AbortController();
  state.stream = controller;
  const live = document.getElementById("live");
  try {
    const r = await fetch(`/v1/clients/${state.client.slug}/reports/stream`,
      { headers: credentials(), signal: controller.signal });
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (!data) continue;
        state.totals = JSON.parse(data);
        state.chartRetries = 0;
        showTotals(state.totals);
        live.textContent = "en vivo · " + state.fmt.time(new Date());
        refreshCharts();
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  live.textContent = "reconectando…";
  setTimeout(follow, 2000);
}

async function choose(slug) {
  state.client = state.clients.find((c) => c.slug === slug);
  document.getElementById("client-name").textContent = state.client.name;
  await refreshCharts();
  follow();
}

async function start() {
  try {
    state.clients = [];  // every page of the list, following its `next` link
    for (let next = "/v1/clients?limit=500"; next; ) {
      const page = await api(next);
      state.clients.push(...page.items);
      next = page.next;
    }
  } catch (e) {
    return;  // no session and no key: the sign-in choices are shown
  }
  document.getElementById("login").hidden = true;
  const select = document.getElementById("client");
  select.replaceChildren(...state.clients.map((c) => new Option(c.name, c.slug)));
  select.disabled = state.clients.length < 2;
  select.onchange = () => choose(select.value);
  document.getElementById("app").hidden = false;
  const wanted = new URLSearchParams(location.search).get("client");
  await choose(state.clients.some((c) => c.slug === wanted) ? wanted : state.clients[0].slug);
}

document.getElementById("login-form").onsubmit = (e) => {
  e.preventDefault();
  state.key = document.getElementById("key").value.trim();
  start();
};
start();
