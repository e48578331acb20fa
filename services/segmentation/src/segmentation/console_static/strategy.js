// The console's strategy page: the strategy in force as a bucket × tier grid (the champion, and the challenger if
// any), read from GET /v1/clients/{slug}/strategy and sent back whole with PUT, If-Match of the ETag it read and the
// session's CSRF token from the page's meta tag; the challenger created from the champion, removed, or promoted
// (POST .../strategy/promote). The API decides; this page only says in Spanish what it answered.
"use strict";
(function () {
  const TIERS = ["high", "medium", "low"];
  const TIER_NAMES = {high: "alto", medium: "medio", low: "bajo"};
  const CHANNELS = [["sms", "SMS"], ["email", "Correo"], ["whatsapp", "WhatsApp"], ["voice", "Voz"],
                    ["agent", "Agente"], ["letter", "Carta"]];
  const OFFERS = [["none", "Sin oferta"], ["settlement", "Acuerdo de pago"], ["instalment_plan", "Plan de cuotas"],
                  ["do_not_pursue", "No gestionar"]];
  const FIELDS = {treatment: "el tratamiento", channels: "los canales", contacts_per_channel: "los contactos por canal",
                  cadence_days: "la cadencia", offer: "la oferta", kind: "el tipo de oferta",
                  discount_pct: "el descuento", instalments: "las cuotas", when: "las condiciones"};
  const ARMS = {champion: "Campeón", challenger: "Retador"};
  const DEFAULT_SHARE = "0.1";

  let slug = "";
  let editable = false;
  let etag = null;
  let loaded = null;  // the strategy as the API answered it (its version, whether it has a challenger)
  let doc = null;     // what is being edited: {tiers, rules, challenger}
  let buckets = [];
  let dirty = false;
  let leaving = false;  // the page itself is moving on (saved, promoted, reloading on purpose): nothing to warn of

  function go(url) {
    leaving = true;
    window.location.assign(url);
  }

  function csrf() {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function $(id) { return document.getElementById(id); }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function ([k, v]) {
      if (k === "text") node.textContent = v;
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function cellName(arm, bucket, tier) {
    return ARMS[arm] + " · " + bucket + " días · valor " + (TIER_NAMES[tier] || tier);
  }

  function say(text) {
    const box = $("editor-status");
    box.textContent = text;
    box.hidden = !text;
  }

  function clearProblems() {
    $("editor-error").hidden = true;
    $("editor-problems").replaceChildren();
    $("editor-reload").hidden = true;
    document.querySelectorAll("td.invalid").forEach(function (td) {
      td.classList.remove("invalid");
      td.removeAttribute("aria-invalid");
    });
  }

  function refuse(text, problems, reload) {
    say("");
    $("editor-error-text").textContent = text;
    $("editor-problems").replaceChildren.apply($("editor-problems"), (problems || []).map(function (p) {
      return el("li", {text: p});
    }));
    $("editor-reload").hidden = !reload;
    $("editor-error").hidden = false;
    $("editor-error").scrollIntoView({block: "center"});
  }

  function changed() {
    dirty = true;
    say("");
    if ($("save")) $("save").disabled = false;
  }

  // The cell's rule for every account (no conditions), created empty when the strategy has none there.
  function ruleOf(arm, bucket, tier) {
    const rules = arm === "champion" ? doc.rules : doc.challenger.rules;
    let rule = rules.find(function (r) {
      return r.bucket === bucket && r.tier === tier && Object.keys(r.when || {}).length === 0;
    });
    if (!rule) {
      rule = {bucket: bucket, tier: tier, treatment: "", channels: [], contacts_per_channel: 1, cadence_days: 3,
              offer: {kind: "none", discount_pct: "0", instalments: 0}, when: {}};
      rules.push(rule);
    }
    return rule;
  }

  function conditioned(arm, bucket, tier) {
    const rules = arm === "champion" ? doc.rules : doc.challenger.rules;
    return rules.filter(function (r) {
      return r.bucket === bucket && r.tier === tier && Object.keys(r.when || {}).length > 0;
    }).length;
  }

  function number(value) {
    const n = Number(value);
    return value === "" || !Number.isFinite(n) ? value : n;  // what is not a number goes as typed: the API says why
  }

  function field(label, control) {
    return el("label", {}, [document.createTextNode(label + " "), control]);
  }

  function cell(arm, bucket, tier) {
    const rule = ruleOf(arm, bucket, tier);
    const off = !editable;
    const td = el("td", {"class": "cell", "data-bucket": bucket, "data-tier": tier,
                         "aria-label": cellName(arm, bucket, tier)});
    const treatment = el("input", {type: "text", name: "treatment", value: rule.treatment, maxlength: "60",
                                   disabled: off});
    treatment.addEventListener("input", function () { rule.treatment = treatment.value; changed(); });
    td.appendChild(field("Tratamiento", treatment));

    const channels = el("fieldset", {}, [el("legend", {text: "Canales"})]);
    CHANNELS.forEach(function ([code, label]) {
      const box = el("input", {type: "checkbox", name: "channel", value: code,
                               checked: rule.channels.includes(code), disabled: off});
      box.addEventListener("change", function () {
        const chosen = CHANNELS.map(function (c) { return c[0]; }).filter(function (c) {
          return c === code ? box.checked : rule.channels.includes(c);
        });
        rule.channels = chosen.concat(rule.channels.filter(function (c) {  // a channel this page does not know stays
          return !CHANNELS.some(function (k) { return k[0] === c; });
        }));
        changed();
      });
      channels.appendChild(el("label", {}, [box, document.createTextNode(label)]));
    });
    td.appendChild(channels);

    function numeric(row, label, name, value, min, max, step, put) {
      const input = el("input", {type: "number", name: name, value: String(value), min: min, max: max, step: step,
                                 disabled: off});
      input.addEventListener("input", function () { put(input.value); changed(); });
      row.appendChild(field(label, input));
    }
    const cadence = td.appendChild(el("div", {"class": "pair"}));
    numeric(cadence, "Contactos por canal", "contacts_per_channel", rule.contacts_per_channel, "0", "60", "1",
            function (v) { rule.contacts_per_channel = number(v); });
    numeric(cadence, "Cada cuántos días", "cadence_days", rule.cadence_days, "1", "60", "1",
            function (v) { rule.cadence_days = number(v); });

    const offer = el("select", {name: "offer", disabled: off}, OFFERS.map(function ([code, label]) {
      return el("option", {value: code, text: label, selected: rule.offer.kind === code});
    }));
    offer.addEventListener("change", function () { rule.offer.kind = offer.value; changed(); });
    td.appendChild(field("Oferta", offer));
    const terms = td.appendChild(el("div", {"class": "pair"}));
    numeric(terms, "Descuento (%)", "discount_pct", rule.offer.discount_pct, "0", "100", "0.01",
            function (v) { rule.offer.discount_pct = v; });
    numeric(terms, "Cuotas", "instalments", rule.offer.instalments, "0", "120", "1",
            function (v) { rule.offer.instalments = number(v); });

    const others = conditioned(arm, bucket, tier);
    if (others) {
      td.appendChild(el("p", {"class": "conditions", text: "Además " + others + (others === 1
        ? " regla con condiciones sobre los indicadores (se conserva tal cual)."
        : " reglas con condiciones sobre los indicadores (se conservan tal cual).")}));
    }
    return td;
  }

  function rowsOf(rules) {
    const labels = buckets.map(function (b) { return b.label; });
    rules.forEach(function (r) { if (!labels.includes(r.bucket)) labels.push(r.bucket); });
    return labels;
  }

  function tiersEditor(arm, holder, target) {
    const box = $(arm + "-tiers");
    box.replaceChildren();
    if (arm === "challenger") {
      const share = el("input", {type: "number", id: "challenger-share", min: "1", max: "99", step: "1",
                                 value: String(Math.round(Number(holder.share) * 10000) / 100), disabled: !editable});
      share.addEventListener("input", function () {
        const pct = Number(share.value);
        holder.share = share.value === "" || !Number.isFinite(pct) ? share.value : String(pct / 100);
        changed();
      });
      box.appendChild(field("Porcentaje de las cuentas", share));
    }
    [["high", "Valor alto desde"], ["medium", "Valor medio desde"]].forEach(function ([level, label]) {
      const input = el("input", {type: "number", id: arm + "-tier-" + level, min: "0", step: "any",
                                 value: String(target.tiers[level]), disabled: !editable});
      input.addEventListener("input", function () { target.tiers[level] = input.value; changed(); });
      box.appendChild(field(label, input));
    });
  }

  function grid(arm, rules) {
    const table = $(arm + "-grid");
    const head = el("tr", {}, [el("th", {text: "Días de mora"})].concat(TIERS.map(function (t) {
      return el("th", {scope: "col", text: "Valor " + TIER_NAMES[t]});
    })));
    const body = el("tbody", {}, rowsOf(rules).map(function (bucket) {
      return el("tr", {"data-bucket": bucket}, [el("th", {scope: "row", text: bucket + " días"})].concat(
        TIERS.map(function (tier) { return cell(arm, bucket, tier); })));
    }));
    table.replaceChildren(el("thead", {}, [head]), body);
  }

  function render() {
    tiersEditor("champion", doc, doc);
    grid("champion", doc.rules);
    const has = doc.challenger !== null && doc.challenger !== undefined;
    $("challenger-none").hidden = has;
    if (has) {
      tiersEditor("challenger", doc.challenger, doc.challenger);
      grid("challenger", doc.challenger.rules);
    } else {
      $("challenger-tiers").replaceChildren();
      $("challenger-grid").replaceChildren();
    }
    if (editable) {
      $("challenger-create").hidden = has;
      $("challenger-remove").hidden = !has;
      $("challenger-promote").hidden = !loaded.challenger;
    }
  }

  // Where a refusal of the API points: a cell ("31-60/high: ..." or a rule's place in the body) or the whole.
  function located(arm, bucket, tier, text) {
    const td = document.querySelector("#" + arm + "-grid td[data-bucket=\"" + CSS.escape(bucket) +
                                      "\"][data-tier=\"" + tier + "\"]");
    if (td) {
      td.classList.add("invalid");
      td.setAttribute("aria-invalid", "true");
    }
    return cellName(arm, bucket, tier) + ": " + text + ".";
  }

  function reason(text) {
    let m;
    if (/^cadence_days must be/.test(text)) return "la cadencia debe estar entre 1 y 60 días";
    if ((m = /^discount (.+)% is outside 0\.\.(.+)%$/.exec(text))) {
      return "el descuento de " + m[1] + " % está fuera de lo permitido (0 a " + m[2] + " %)";
    }
    if ((m = /^an instalment plan has (\d+)\.\.(\d+) instalments$/.exec(text))) {
      return "un plan de cuotas debe tener de " + m[1] + " a " + m[2] + " cuotas";
    }
    if (/^a treatment needs at least one channel/.test(text)) {
      return "el tratamiento necesita al menos un canal (o la oferta «No gestionar»)";
    }
    if (/^unknown channels/.test(text)) return "tiene un canal desconocido";
    if (/^two rules with the same conditions/.test(text)) return "tiene dos reglas con las mismas condiciones";
    if (/^unknown condition/.test(text)) return "tiene una condición desconocida";
    return "no es válida (" + text + ")";
  }

  function strategyProblem(message) {
    let m;
    const arm = message.startsWith("challenger: ") ? "challenger" : "champion";
    const text = message.replace(/^challenger: /, "");
    if ((m = /^(.+)\/(high|medium|low): (.*)$/.exec(text))) return located(arm, m[1], m[2], reason(m[3]));
    if ((m = /^no rule for bucket '(.*)' and tier '(.*)'$/.exec(text))) {
      return located(arm, m[1], m[2], "falta la regla de la celda");
    }
    if (/^the high tier threshold must be above/.test(text)) {
      return ARMS[arm] + ": el umbral de valor alto debe ser mayor que el de valor medio.";
    }
    if ((m = /^rule for unknown bucket '(.*)'$/.exec(text))) {
      return ARMS[arm] + ": el tramo «" + m[1] + "» no es uno de los tramos de mora del cliente.";
    }
    return ARMS[arm] + ": " + text;
  }

  function schemaProblem(error) {
    const loc = (error.loc || []).slice(1);  // past "body"
    const arm = loc[0] === "challenger" ? "challenger" : "champion";
    const path = arm === "challenger" ? loc.slice(1) : loc;
    const rules = arm === "champion" ? doc.rules : (doc.challenger || {rules: []}).rules;
    if (path[0] === "rules" && rules[Number(path[1])]) {
      const rule = rules[Number(path[1])];
      const what = FIELDS[path[path.length - 1]] || FIELDS[path[2]] || "un valor";
      return located(arm, rule.bucket, rule.tier, "valor no válido en " + what);
    }
    if (path[0] === "share") return "Retador: el porcentaje de las cuentas debe estar entre 1 y 99.";
    if (path[0] === "tiers") {
      return ARMS[arm] + ": el umbral de valor " + (TIER_NAMES[path[1]] || "") + " no es un número válido.";
    }
    return "Un valor no es válido (" + (error.loc || []).join(".") + ").";
  }

  async function answerOf(response) {
    try { return await response.json(); } catch (ignored) { return {}; }
  }

  function refusedAs(status, body, verb) {
    if (status === 412 || body.code === "version_changed") {
      refuse("Otra persona guardó la estrategia mientras usted la editaba: " + verb + ". Recargue para ver la " +
             "versión vigente y vuelva a hacer sus cambios.", [], true);
    } else if (status === 422) {
      const errors = body.errors || [];
      const problems = body.code === "validation_error" ? errors.map(schemaProblem)
        : errors.map(function (e) { return strategyProblem(e.msg || ""); });
      refuse("La estrategia no se guardó: corrija lo que se indica.", problems, false);
    } else if (status === 401) {
      refuse("La sesión caducó: inicie sesión de nuevo (sus cambios no se guardaron).", [], false);
    } else if (status === 403 && body.code === "csrf_token_invalid") {
      refuse("La sesión cambió: recargue la página e intente de nuevo.", [], true);
    } else if (status === 403) {
      refuse("Su rol no permite cambiar la estrategia.", [], false);
    } else if (body.code === "no_challenger") {
      refuse("La estrategia vigente no tiene retador guardado.", [], true);
    } else if (body.code === "strategy_does_not_fit") {
      refuse("El retador ya no encaja con los tramos de mora o los límites del cliente.", [], false);
    } else {
      refuse("No se pudo: el servidor respondió " + status + ".", [], false);
    }
  }

  function outgoing() {
    const body = {tiers: doc.tiers, rules: doc.rules};
    if (doc.challenger) body.challenger = doc.challenger;
    return body;
  }

  async function save() {
    clearProblems();
    say("Guardando…");
    $("save").disabled = true;
    let response;
    try {
      response = await fetch("/v1/clients/" + encodeURIComponent(slug) + "/strategy", {
        method: "PUT", credentials: "same-origin", body: JSON.stringify(outgoing()),
        headers: {"Content-Type": "application/json", "If-Match": etag, "X-CSRF-Token": csrf()}});
    } catch (lost) {
      $("save").disabled = false;
      refuse("No se guardó: se perdió la conexión con el servidor.", [], false);
      return;
    }
    const body = await answerOf(response);
    if (response.ok) {
      go("/console/strategy/" + encodeURIComponent(slug) + "?saved=" + body.version);
      return;
    }
    $("save").disabled = false;
    refusedAs(response.status, body, "sus cambios no se guardaron");
  }

  async function promote() {
    clearProblems();
    if (dirty) {
      refuse("Hay cambios sin guardar: guárdelos o recargue la estrategia antes de promover el retador.", [], true);
      return;
    }
    const response = await fetch("/v1/clients/" + encodeURIComponent(slug) + "/strategy/promote", {
      method: "POST", credentials: "same-origin", body: JSON.stringify({version: loaded.version}),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()}});
    const body = await answerOf(response);
    if (response.ok) {
      go("/console/strategy/" + encodeURIComponent(slug) + "?promoted=" + body.version);
      return;
    }
    refusedAs(response.status, body, "el retador no se promovió");
  }

  async function load() {
    const base = "/v1/clients/" + encodeURIComponent(slug);
    const [strategy, bucketSet] = await Promise.all([
      fetch(base + "/strategy", {credentials: "same-origin"}),
      fetch(base + "/buckets", {credentials: "same-origin"})]);
    if (!strategy.ok || !bucketSet.ok) {
      $("editor-version").textContent = "No se pudo leer la estrategia (el servidor respondió " +
        (strategy.ok ? bucketSet.status : strategy.status) + ").";
      return;
    }
    etag = strategy.headers.get("ETag");
    loaded = await strategy.json();
    buckets = (await bucketSet.json()).buckets;
    doc = {tiers: copy(loaded.tiers), rules: copy(loaded.rules),
           challenger: loaded.challenger ? copy(loaded.challenger) : null};
    $("editor-version").textContent = loaded.version === 0
      ? "Versión 0: la estrategia predeterminada de la plataforma (todavía no hay una propia)."
      : "Versión " + loaded.version + " (vigente).";
    render();
  }

  function start() {
    const editor = $("editor");
    if (!editor) return;
    slug = editor.dataset.slug;
    editable = editor.dataset.canEdit === "true";
    $("editor-reload").addEventListener("click", function () {
      go("/console/strategy/" + encodeURIComponent(slug));
    });
    // Leaving with changes not saved (a link, a restore, closing the tab): the browser asks first.
    window.addEventListener("beforeunload", function (e) {
      if (dirty && !leaving) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    if (editable) {
      $("save").addEventListener("click", save);
      $("challenger-promote").addEventListener("click", promote);
      $("challenger-create").addEventListener("click", function () {
        doc.challenger = {share: DEFAULT_SHARE, tiers: copy(doc.tiers), rules: copy(doc.rules)};
        render();
        changed();
        say("Retador creado como copia del campeón, para el 10 % de las cuentas: cámbielo y pulse «Guardar».");
      });
      $("challenger-remove").addEventListener("click", function () {
        doc.challenger = null;
        render();
        changed();
        say("Retador quitado: pulse «Guardar» para que todas las cuentas reciban la estrategia del campeón.");
      });
    }
    load().catch(function () {
      $("editor-version").textContent = "No se pudo leer la estrategia: se perdió la conexión con el servidor.";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
