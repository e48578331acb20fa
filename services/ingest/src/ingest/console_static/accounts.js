// The console's account page: its timeline, assembled from each service's per-account /v1 routes (placement,
// segment and its why, messages and logged contacts, legal holds, consents, arrangements and their payments),
// newest first; and its actions (legal hold and its lifting, do-not-contact, a contact logged), sent to outreach's
// API with the session's cookie and CSRF token, their answer said in Spanish, the timeline read again.
"use strict";
(function () {
  const root = document.getElementById("account");
  if (!root) return;
  const slug = root.dataset.slug;
  const tz = root.dataset.timezone;
  const locale = root.dataset.locale || "es-CO";
  // In the company's currency (S/ for soles, no cents for Chilean pesos) exactly as the server writes the page's own
  // amounts (the placement's balance in its facts): amounts.js in the style the page carries (data-amounts), never
  // the browser's Intl data, whose CLDR differs (Chromium writes es-CO's "$ 1.500.000,00", the server "$1.500.000,00").
  const amounts = window.recaudoAmounts(JSON.parse(root.dataset.amounts));
  const base = "/v1/clients/" + encodeURIComponent(slug);
  const account = base + "/accounts/" + encodeURIComponent(root.dataset.ref);

  const HOLDS = {dispute: "disputa o reclamo", litigation: "proceso judicial", insolvency: "insolvencia",
                 deceased: "fallecimiento"};
  // The channels' words are the platform's one vocabulary (recaudo_common.channel_words), carried by the page.
  const CHANNELS = JSON.parse(root.dataset.channels || "{}");
  const OUTCOMES = {no_answer: "no contestó", right_party: "habló con el titular", third_party: "habló con un tercero",
                    wrong_number: "número equivocado", refused: "se negó a pagar", promise_to_pay: "promesa de pago"};
  const ATTEMPTS = {scheduled: "programado", sent: "enviado", cancelled: "cancelado"};
  const ARRANGEMENTS = {settlement: "Acuerdo de pago único", instalment_plan: "Acuerdo de pago en cuotas"};
  const VERDICTS = {active: "vigente", kept: "cumplido", broken: "incumplido"};
  const SOURCES = {client_file: "archivo del cliente", debtor_page: "página del deudor", reply: "respuesta del deudor",
                   operator: "operador", unsubscribe: "enlace de baja"};
  const RULES = {outside_hours: "fuera del horario permitido", day_not_allowed: "día no permitido",
                 holiday: "día festivo", daily_limit: "límite diario de contactos",
                 weekly_channel_limit: "límite semanal del canal", channel_not_authorised: "canal no autorizado",
                 opted_out: "el deudor pidió la baja", do_not_contact: "deudor en no contactar",
                 account_inactive: "cuenta inactiva", call_limit_7_in_7: "límite de llamadas en 7 días",
                 call_after_conversation: "llamada después de una conversación", legal_hold: "retención legal",
                 // The collection hold (outreach/holds.py): not the law's, but a reason a message waits.
                 promise_pending: "promesa de pago pendiente", arrangement_standing: "acuerdo de pago vigente"};
  const ERRORS = {
    csrf_token_invalid: "La sesión caducó: recargue la página e intente de nuevo.",
    forbidden: "Su rol no permite esta acción.",
    not_found: "La cuenta o la retención ya no existe.",
    validation_error: "Revise los datos del formulario.",
    unauthorized: "La sesión terminó: vuelva a iniciar sesión.",
    rate_limited: "Demasiadas acciones seguidas; espere un momento.",
    // A contact logged (outreach's log_contact), as the agent desk says them.
    promise_mismatch: "La promesa de pago necesita el resultado «Promesa de pago», su monto y su fecha.",
    invalid_promise: "La promesa no es válida: el monto debe ser positivo y no mayor que el saldo, y la fecha debe " +
                     "estar dentro de la ventana de promesas del cliente.",
    amount_not_in_minor_units: "El monto tiene más decimales de los que tiene la moneda del cliente.",
    contact_in_future: "La hora del contacto está en el futuro.",
  };

  function csrf() {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function when(iso) {
    return new Date(iso).toLocaleString(locale, {timeZone: tz, dateStyle: "medium", timeStyle: "short"});
  }

  function rules(codes) {
    return codes.map((code) => RULES[code] || code).join(", ");
  }

  function money(value) {
    return amounts(value);
  }

  // An amount typed in the client company's marks (150.000,50 in es-CO, 1,500.50 in es-MX), strictly: a group mark
  // separates thousands ("1.5" is none in es-CO). The API takes a plain decimal.
  function plainAmount(text) {
    const group = root.dataset.groupMark, decimal = root.dataset.decimalMark;
    const raw = text.replace(/\u00a0/g, " ").trim().replace(/^\$\s*/, "");
    const g = group.replace(/[.]/g, "\\."), d = decimal.replace(/[.]/g, "\\.");
    if (!new RegExp("^(?:\\d{1,3}(?:" + g + "\\d{3})+|\\d+)(?:" + d + "\\d+)?$").test(raw)) return null;
    return raw.split(group).join("").replace(decimal, ".");
  }

  // What the page's other script (account-tasks.js, loaded after this one for those who may use its tasks) shares
  // with this one, written once here: the session's CSRF token, amounts shown and amounts read.
  window.recaudoAccount = Object.freeze({csrf, money, plainAmount});

  async function read(path) {
    const answer = await fetch(path, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!answer.ok) throw new Error(String(answer.status));
    return answer.json();
  }

  const PAYMENT_SOURCES = {gateway: "pasarela de pagos", bank_file: "archivo del banco", manual: "registrado a mano"};

  // Each source gives its entries: {at: ISO instant or null (now), label, detail}.
  const SOURCES_OF_TIMELINE = [
    ["la asignación", base + "/placements/" + encodeURIComponent(root.dataset.ref), (p) => {
      const entries = [{at: p.placed_at, label: "Asignación de la cuenta",
                        detail: "Saldo " + money(p.balance) + ", " + p.days_past_due + " días de mora"}];
      if (p.recalled_at) entries.push({at: p.recalled_at, label: "Retiro por el cliente", detail: ""});
      return entries;
    }],
    ["el segmento", account, (v) => {
      // The facts above are the file's, on the day it was placed; what the account owes and how late it is now
      // is the recovery report's (payments, arrangements and the days since applied).
      document.getElementById("balance-today").textContent = money(v.balance);
      document.getElementById("dpd-today").textContent = v.days_past_due === null ? "—" : String(v.days_past_due);
      if (!v.segment && !v.bucket) return [];
      const parts = [];
      if (v.bucket) parts.push("tramo " + v.bucket);
      if (v.treatment) parts.push("tratamiento " + v.treatment);
      if (v.channels && v.channels.length) parts.push("canales " + v.channels.join(", "));
      if (v.why) parts.push("por qué: " + v.why);
      const entries = [{at: null, label: "Segmento " + (v.segment || "sin segmento"), detail: parts.join("; ")}];
      if (Number(v.recovered) > 0) {
        entries.push({at: null, label: "Pagos recibidos", detail: "Recuperado " + money(v.recovered)});
      }
      return entries;
    }],
    ["los contactos", account + "/contacts", (h) => {
      const entries = [];
      for (const a of h.items) {
        const detail = [ATTEMPTS[a.status] || a.status];
        if (!a.sent_at) detail.push("programado para " + when(a.scheduled_at));
        // Why one still to go waits: its last decision, when it was refused (a hold, the hours, a limit).
        const last = a.decisions.length ? a.decisions[a.decisions.length - 1] : null;
        if (a.status === "scheduled" && last && !last.allowed) detail.push("aplazado por: " + rules(last.reasons));
        if (a.template) detail.push("plantilla " + a.template);
        if (a.cancel_reason) detail.push("motivo: " + a.cancel_reason);
        if (a.why) detail.push(a.why);
        // When it was sent, or else when it was planned (its scheduled instant may lie ahead: said in the detail).
        entries.push({at: a.sent_at || a.created_at, label: "Mensaje por " + (CHANNELS[a.channel] || a.channel),
                      detail: detail.join("; ")});
      }
      for (const c of h.logged) {
        const promise = c.outcome === "promise_to_pay";
        // Who started it: a contact the debtor started is judged by none of the limits, so it is said first.
        const started = c.direction === "inbound" ? "El deudor inició el contacto" : "La agencia inició el contacto";
        entries.push({at: c.at, label: (promise ? "Promesa de pago" : "Contacto registrado") + " (" +
                      (CHANNELS[c.channel] || c.channel) + ")",
                      detail: [started, OUTCOMES[c.outcome] || c.outcome || ""].filter(Boolean).join("; ") +
                              (c.rule_violations.length ? "; incumple: " + rules(c.rule_violations) : "")});
      }
      for (const hold of h.legal_holds) {
        entries.push({at: hold.set_at, label: "Retención legal: " + (HOLDS[hold.hold] || hold.hold),
                      detail: hold.note || ""});
        if (hold.lifted_at) {
          entries.push({at: hold.lifted_at, label: "Retención levantada: " + (HOLDS[hold.hold] || hold.hold),
                        detail: ""});
        }
      }
      showHolds(h.legal_holds.filter((hold) => !hold.lifted_at));
      return entries;
    }],
    ["los consentimientos", account + "/consents", (c) => c.channels.filter((ch) => ch.state === "withdrawn").map(
      (ch) => ({at: ch.since, label: "Consentimiento retirado (" + (CHANNELS[ch.channel] || ch.channel) + ")",
                detail: "por " + (SOURCES[ch.source] || ch.source)}))],
    ["los pagos", account + "/payments?limit=100", (list) => list.items.map((p) => ({
      at: p.paid_at, label: "Pago de " + money(p.amount) + (PAYMENT_SOURCES[p.source] ? " (" + PAYMENT_SOURCES[p.source] + ")" : ""),
      detail: (p.reference ? "referencia " + p.reference : "") +
              (Number(p.reversed_amount) > 0 ? (p.reference ? "; " : "") + "reversado " + money(p.reversed_amount) : "")}))],
    ["los acuerdos de pago", account + "/arrangements", (list) => {
      const entries = [];
      for (const a of list.items) {
        entries.push({at: a.made_at, label: ARRANGEMENTS[a.kind] || a.kind,
                      detail: "Total " + money(a.total_amount) + ", pagado " + money(a.paid_amount) + ", " +
                              (VERDICTS[a.status] || a.status)});
        if (a.decided_at) {
          entries.push({at: a.decided_at, label: "Acuerdo " + (VERDICTS[a.status] || a.status), detail: ""});
        }
      }
      return entries;
    }],
  ];

  async function showTimeline() {
    const status = document.getElementById("timeline-status");
    const list = document.getElementById("timeline");
    const results = await Promise.all(SOURCES_OF_TIMELINE.map(([what, path, entriesOf]) =>
      read(path).then((body) => ({entries: entriesOf(body)}), () => ({missing: what}))));
    const entries = results.flatMap((r) => r.entries || []);
    // Newest first; what holds now (the segment, no instant of its own) above everything.
    entries.sort((a, b) => (b.at ? Date.parse(b.at) : Infinity) - (a.at ? Date.parse(a.at) : Infinity));
    list.replaceChildren(...entries.map((e) => {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = e.at ? when(e.at) : "Ahora";
      if (e.at) time.dateTime = e.at;
      const label = document.createElement("strong");
      label.textContent = e.label;
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = e.detail;
      item.append(time, label, detail);
      return item;
    }));
    const missing = results.filter((r) => r.missing).map((r) => r.missing);
    status.textContent = missing.length ? "No se pudo leer " + missing.join(", ") + "." : "";
  }

  function showHolds(holds) {
    const box = document.getElementById("holds-in-force");
    if (!holds.length) {
      box.replaceChildren();
      return;
    }
    const title = document.createElement("p");
    title.textContent = "Retenciones legales vigentes:";
    const items = holds.map((hold) => {
      const item = document.createElement("li");
      item.textContent = (HOLDS[hold.hold] || hold.hold) + " ";
      if (document.getElementById("hold-form")) {
        const lift = document.createElement("button");
        lift.type = "button";
        lift.textContent = "Levantar retención";
        lift.addEventListener("click", () => act("DELETE", account + "/legal-holds/" + hold.hold, null,
                                                 () => "Retención legal levantada."));
        item.append(lift);
      }
      return item;
    });
    const list = document.createElement("ul");
    list.append(...items);
    box.replaceChildren(title, list);
  }

  async function act(method, path, body, said) {
    const status = document.getElementById("action-status");
    status.className = "";
    status.textContent = "Enviando…";
    let answer;
    try {
      answer = await fetch(path, {method, credentials: "same-origin",
                                  headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
                                  body: body === null ? undefined : JSON.stringify(body)});
    } catch (e) {
      status.className = "error";
      status.textContent = "No hubo respuesta del servidor; intente de nuevo.";
      return;
    }
    const reply = answer.status === 204 ? {} : await answer.json().catch(() => ({}));
    if (answer.ok) {
      status.textContent = said(reply);
    } else {
      status.className = "error";
      // The API's detail is English, for developers: a code the page does not know is named, not explained.
      status.textContent = ERRORS[reply.code] || ("La acción no se pudo hacer (" + (reply.code || answer.status) + ").");
    }
    await showTimeline();
  }

  const holdForm = document.getElementById("hold-form");
  if (holdForm) {
    holdForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const note = document.getElementById("hold-note").value.trim();
      act("POST", account + "/legal-holds", {hold: document.getElementById("hold-kind").value, note: note || null},
          (r) => r.status === "already_set" ? "La cuenta ya tenía esa retención legal."
                                            : "Retención legal puesta: se detiene todo contacto.");
    });
  }

  const contactForm = document.getElementById("contact-form");
  if (contactForm) {
    contactForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const outcome = document.getElementById("contact-outcome").value;
      // A contact the debtor started counts toward no contact limit and breaks no hours (outreach's contact law).
      const body = {channel: document.getElementById("contact-channel").value, at: new Date().toISOString(),
                    outcome, direction: document.getElementById("contact-direction").value};
      const amount = document.getElementById("promise-amount").value.trim();
      const due = document.getElementById("promise-date").value;
      if (outcome === "promise_to_pay" && amount && due) {
        const plain = plainAmount(amount);
        if (plain === null) {
          const status = document.getElementById("action-status");
          status.className = "error";
          status.textContent = "Escriba el monto prometido como lo escribe la empresa (" +
                               document.getElementById("promise-amount").placeholder + ").";
          return;
        }
        body.promise = {amount: plain, due_date: due};
      }
      act("POST", account + "/contacts", body, (r) => r.rule_violations && r.rule_violations.length
        ? "Contacto registrado; incumple: " + rules(r.rule_violations) + "."
        : "Contacto registrado.");
    });
  }

  const dncForm = document.getElementById("dnc-form");
  if (dncForm) {
    dncForm.addEventListener("submit", (event) => {
      event.preventDefault();
      act("POST", base + "/do-not-contact",
          {debtor_id: dncForm.dataset.debtorId, reason: document.getElementById("dnc-reason").value.trim()},
          (r) => "El deudor quedó en la lista de no contactar (" + r.accounts + " cuenta(s)).");
    });
  }

  // The operator's other tasks (account_tasks.js: a payment by hand, the debtor's data rights) say when they changed
  // the account.
  document.addEventListener("account-changed", () => showTimeline());
  showTimeline();
})();
