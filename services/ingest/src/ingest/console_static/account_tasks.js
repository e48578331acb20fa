// The account page's everyday tasks of an operator, which needed curl before: a payment received by hand (payments'
// POST .../payments, once per Idempotency-Key), and the debtor's data rights (habeas data): a copy of their data
// (reporting's access request, its status followed until answered, then read once and offered as a JSON file),
// their erasure (after a confirmation that says what goes, followed until completed or refused) and their contact
// points corrected
// (ingest's PATCH .../contact-points). Each is said in Spanish; the timeline is read again (accounts.js listens).
"use strict";
(function () {
  const root = document.getElementById("account");
  if (!root) return;
  const slug = root.dataset.slug;
  const tz = root.dataset.timezone;
  const currency = root.dataset.currency;
  const {csrf, money, plainAmount} = window.recaudoAccount;  // accounts.js, loaded before this script
  const base = "/v1/clients/" + encodeURIComponent(slug);
  const rights = document.getElementById("rights");
  const debtor = rights ? base + "/debtors/" + encodeURIComponent(rights.dataset.idNumber) : null;
  const POLL_DEADLINE_MS = 120000;  // an erasure waits for every service's confirmation: seconds, rarely more

  const COMMON = {
    csrf_token_invalid: "La sesión caducó: recargue la página e intente de nuevo.",
    forbidden: "Su rol no permite esta acción.",
    unauthorized: "La sesión terminó: vuelva a iniciar sesión.",
    rate_limited: "Demasiadas acciones seguidas; espere un momento.",
    validation_error: "Revise los datos del formulario.",
  };
  const PAYMENT_ERRORS = {
    amount_not_in_minor_units: "El monto tiene más decimales de los que usa la moneda (" + currency + ").",
    paid_at_in_future: "La fecha del pago es posterior a este momento: nadie lo ha pagado todavía.",
    invalid_currency: "La empresa recibe pagos solo en " + currency + ".",
    possible_duplicate: "Un extracto del banco ya trajo un pago de ese monto a esta cuenta en esos días. " +
                        "Si es otro depósito, márquelo abajo y envíelo de nuevo.",
    idempotency_key_reused: "Este formulario ya registró un pago con otros datos: revise la historia de la " +
                            "cuenta antes de registrar otro.",
    idempotency_key_unverifiable: "No se pudo comprobar el envío anterior: envíe el pago de nuevo.",
    not_found: "La empresa cliente no existe en pagos.",
  };
  const RIGHTS_ERRORS = {
    not_found: "La empresa no tiene datos de esa persona (o ya fueron suprimidos).",
    obligation_active: "No se puede suprimir: la persona tiene obligaciones activas, que son la base legal para " +
                       "conservar sus datos. Se puede suprimir cuando cada una esté pagada, saldada o retirada.",
    accounts_unknown: "Las cuentas de la persona aún no llegan a los reportes; intente de nuevo en un momento.",
  };
  const INVALID_POINTS = {invalid_phone: "un teléfono no es válido para el país de la empresa",
                          too_many_phones: "son demasiados teléfonos", invalid_email: "el correo no es válido",
                          nothing_to_rectify: "escriba al menos un teléfono, un correo o una dirección"};
  const FIELDS = {phones: "teléfonos", email: "correo", address: "dirección"};
  const SERVICES = {ingest: "cargas", outreach: "contactos", payments: "pagos", reporting: "reportes"};

  function say(id, text, refused) {
    const status = document.getElementById(id);
    status.classList.toggle("error", Boolean(refused));
    status.textContent = text;
  }

  function services(names) {
    return names.length ? names.map((s) => SERVICES[s] || s).join(", ") : "ninguno todavía";
  }

  // One call to the API: {ok, status, body}, or {status: 0} when no answer came.
  async function call(method, path, body, headers) {
    try {
      const answer = await fetch(path, {method, credentials: "same-origin", headers: Object.assign(
        {Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf()}, headers || {}),
        body: body === undefined ? undefined : JSON.stringify(body)});
      return {ok: answer.ok, status: answer.status, body: await answer.json().catch(() => ({}))};
    } catch (e) {
      return {ok: false, status: 0, body: {}};
    }
  }

  function refusal(reply, known) {
    if (reply.status === 0) return "No hubo respuesta del servidor; intente de nuevo.";
    const code = reply.body.code;
    return known[code] || COMMON[code] || ("La acción no se pudo hacer (" + (code || reply.status) + ").");
  }

  function changed() {
    document.dispatchEvent(new CustomEvent("account-changed"));
  }

  // Waits `ms`, then a little longer each time: a poll that asks sparingly.
  function pause(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // --- A payment by hand -------------------------------------------------------------------------------------

  // The parts of an instant's wall time in the client company's zone.
  function wall(ms) {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-US", {timeZone: tz, hourCycle: "h23", year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"}).formatToParts(ms)) {
      parts[p.type] = p.value;
    }
    return parts;
  }

  // A datetime-local value read as the company's wall time (not the browser's), as an ISO instant.
  function instantOf(local) {
    const [date, time] = local.split("T");
    const [y, m, d] = date.split("-").map(Number);
    const [hh, mm] = time.split(":").map(Number);
    const asUtc = Date.UTC(y, m - 1, d, hh, mm);
    const offset = (ms) => {
      const w = wall(ms);
      return Date.UTC(+w.year, +w.month - 1, +w.day, +w.hour, +w.minute, +w.second) - Math.floor(ms / 1000) * 1000;
    };
    let guess = asUtc - offset(asUtc);
    guess = asUtc - offset(guess);  // again, should the zone's offset differ at the instant found
    return new Date(guess).toISOString();
  }

  function nowInZone() {
    const w = wall(Date.now());
    return w.year + "-" + w.month + "-" + w.day + "T" + w.hour + ":" + w.minute;
  }

  // An Idempotency-Key: 128 random bits (getRandomValues, unlike randomUUID, also where the page is not https).
  function newKey() {
    return "consola-" + Array.from(crypto.getRandomValues(new Uint8Array(16)),
                                   (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const paymentForm = document.getElementById("payment-form");
  if (paymentForm) {
    // One key per payment the form holds: a double press (or a retry after no answer) sends the same key, so the
    // payment is applied once; a new one is made once the payment is recorded.
    let key = newKey();
    const paidAt = document.getElementById("payment-paid-at");
    paidAt.value = nowInZone();
    paymentForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const amount = plainAmount(document.getElementById("payment-amount").value);
      if (amount === null) {
        say("payment-status", "Escriba el monto como lo escribe la empresa (" +
            document.getElementById("payment-amount").placeholder + ").", true);
        return;
      }
      const reference = document.getElementById("payment-reference").value.trim();
      const body = {account_ref: root.dataset.ref, amount, currency, paid_at: instantOf(paidAt.value),
                    method: document.getElementById("payment-method").value, reference: reference || null};
      if (document.getElementById("payment-another-deposit").checked) body.another_deposit = true;
      say("payment-status", "Enviando…");
      const reply = await call("POST", base + "/payments", body, {"Idempotency-Key": key});
      if (!reply.ok) {
        const code = reply.body.code;
        if (code === "possible_duplicate") document.getElementById("payment-another").hidden = false;
        if (code === "idempotency_key_reused") key = newKey();
        say("payment-status", refusal(reply, PAYMENT_ERRORS), true);
        return;
      }
      key = newKey();
      paymentForm.reset();
      paidAt.value = nowInZone();
      document.getElementById("payment-another").hidden = true;
      const p = reply.body;
      let text;
      if (p.status === "applied") {
        text = "Pago de " + money(p.amount) + " registrado. Saldo de la cuenta: " + money(p.new_balance) + ".";
        if (Number(p.credit) > 0) text += " Saldo a favor del deudor: " + money(p.credit) + ".";
      } else if (p.status === "unmatched") {
        text = "Pago de " + money(p.amount) + " registrado, pero pagos no encontró la cuenta: quedó en la cola " +
               "de pagos sin asignar, donde un operador lo asigna.";
      } else {
        text = "Este pago ya se había cerrado como el mismo depósito de otro ya aplicado; no se aplicó de nuevo.";
      }
      say("payment-status", text, false);
      changed();
    });
  }

  if (!rights) return;

  // --- A copy of the person's data -----------------------------------------------------------------------------

  let accessId = null;

  function offerCopy(answer) {
    const link = document.getElementById("access-download");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([JSON.stringify(answer, null, 2)], {type: "application/json"}));
    link.download = "datos-" + rights.dataset.idNumber + "-" + answer.requested_at.slice(0, 10) + ".json";
    link.hidden = false;
  }

  // Asks how far the request is until every service answered or the deadline passes, then reads the copy once:
  // only that read is one of the person's data, in their access log; the status names no one and is not logged.
  async function followAccess() {
    const again = document.getElementById("access-again");
    again.hidden = true;
    const deadline = Date.now() + POLL_DEADLINE_MS;
    for (let wait = 500; ; wait = Math.min(wait * 2, 8000)) {
      let reply = await call("GET", base + "/access-requests/" + accessId + "/status");
      if (reply.ok && reply.body.status === "completed") {
        reply = await call("GET", base + "/access-requests/" + accessId);
      }
      if (!reply.ok) {
        say("access-status", refusal(reply, RIGHTS_ERRORS), true);
        again.hidden = reply.status !== 0;
        return;
      }
      const answer = reply.body;
      if (answer.status === "completed") {
        offerCopy(answer);
        say("access-status", "La copia de los datos está lista: respondieron " + services(answer.answered_by) +
            ". Descárguela y entréguela al titular.", false);
        return;
      }
      if (Date.now() + wait > deadline) {
        say("access-status", "La solicitud sigue en curso: respondieron " + services(answer.answered_by) +
            ". Consulte de nuevo en unos minutos.", false);
        again.hidden = false;
        return;
      }
      say("access-status", "Reuniendo los datos: respondieron " + services(answer.answered_by) + "…", false);
      await pause(wait);
    }
  }

  document.getElementById("access-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    document.getElementById("access-download").hidden = true;
    say("access-status", "Enviando…");
    const reply = await call("POST", debtor + "/access-requests");
    if (!reply.ok) {
      say("access-status", refusal(reply, RIGHTS_ERRORS), true);
      return;
    }
    accessId = reply.body.id;
    await followAccess();
  });
  document.getElementById("access-again").addEventListener("click", followAccess);

  // --- Erasure ---------------------------------------------------------------------------------------------------

  let erasureId = null;
  const confirmBox = document.getElementById("erasure-confirm");

  function erasureText(e) {
    if (e.status === "completed") {
      return ["Supresión completada: los datos de la persona se borraron en " + services(e.confirmed_by) +
              " (cuentas " + e.account_refs.join(", ") + ").", false];
    }
    if (e.status === "refused") {
      return ["Supresión rechazada: una cuenta de la persona volvió a estar activa (un contracargo, una reversión, " +
              "un saldo nuevo del cliente o una cuenta nueva) antes de borrar nada. No se suprimió ningún dato.", true];
    }
    return ["Supresión en curso: confirmaron " + services(e.confirmed_by) + "…", false];
  }

  async function followErasure() {
    const again = document.getElementById("erasure-again");
    again.hidden = true;
    const deadline = Date.now() + POLL_DEADLINE_MS;
    for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
      const reply = await call("GET", base + "/erasures/" + erasureId);
      if (!reply.ok) {
        say("erasure-status", refusal(reply, RIGHTS_ERRORS), true);
        again.hidden = reply.status !== 0;
        return;
      }
      const [text, refused] = erasureText(reply.body);
      if (reply.body.status !== "in_progress") {
        say("erasure-status", text, refused);
        changed();
        return;
      }
      if (Date.now() + wait > deadline) {
        say("erasure-status", text.replace(/…$/, ". Consulte el estado de nuevo en unos minutos."), false);
        again.hidden = false;
        return;
      }
      say("erasure-status", text, false);
      await pause(wait);
    }
  }

  document.getElementById("erasure-form").addEventListener("submit", (event) => {
    event.preventDefault();
    confirmBox.hidden = false;
    document.getElementById("erasure-ask").disabled = true;
    document.getElementById("erasure-yes").focus();
  });
  document.getElementById("erasure-no").addEventListener("click", () => {
    confirmBox.hidden = true;
    document.getElementById("erasure-ask").disabled = false;
  });
  document.getElementById("erasure-yes").addEventListener("click", async () => {
    confirmBox.hidden = true;
    document.getElementById("erasure-ask").disabled = false;
    const reason = document.getElementById("erasure-reason").value.trim();
    say("erasure-status", "Enviando…");
    const reply = await call("POST", debtor + "/erasure", reason ? {reason} : {});
    if (!reply.ok) {
      let text = refusal(reply, RIGHTS_ERRORS);
      const active = (reply.body.errors || []).map((e) => e.account_ref).filter(Boolean);
      if (reply.body.code === "obligation_active" && active.length) text += " Cuentas activas: " + active.join(", ") + ".";
      say("erasure-status", text, true);
      return;
    }
    erasureId = reply.body.id;
    await followErasure();
  });
  document.getElementById("erasure-again").addEventListener("click", followErasure);

  // --- Contact points corrected ------------------------------------------------------------------------------

  document.getElementById("rectify-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {reason: document.getElementById("rectify-reason").value.trim()};
    const phones = document.getElementById("rectify-phones").value.split(",").map((p) => p.trim()).filter(Boolean);
    if (phones.length) body.phones = phones;
    for (const field of ["email", "address"]) {
      const value = document.getElementById("rectify-" + field).value.trim();
      if (value) body[field] = value;
    }
    say("rectify-status", "Enviando…");
    const reply = await call("PATCH", debtor + "/contact-points", body);
    if (!reply.ok) {
      const why = (reply.body.errors || []).map((e) => INVALID_POINTS[e.type]).filter(Boolean);
      say("rectify-status", why.length ? "No se corrigió nada: " + [...new Set(why)].join("; ") + "."
                                       : refusal(reply, RIGHTS_ERRORS), true);
      return;
    }
    const r = reply.body;
    say("rectify-status", r.fields.length
      ? "Datos de contacto corregidos (" + r.fields.map((f) => FIELDS[f] || f).join(", ") + ") en " +
        r.accounts.length + (r.accounts.length === 1 ? " cuenta." : " cuentas.")
      : "Los datos ya eran esos: no cambió nada.", false);
    document.getElementById("rectify-form").reset();
    changed();
  });
})();
