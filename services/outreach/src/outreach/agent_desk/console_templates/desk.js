// The agent desk's script (#23): takes the next call from /v1/agent/next with the session cookie, shows the account
// and the script, and posts the outcome to the contacts API with the page's CSRF token. Text goes in by
// textContent only: nothing the API returns is ever read as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const OFFERS = {none: "Sin oferta", settlement: "Pago único con descuento", instalment_plan: "Acuerdo en cuotas",
                  do_not_pursue: "No gestionar"};
  const REASONS = {outside_hours: "fuera del horario permitido", day_not_allowed: "día no permitido",
                   holiday: "día festivo", daily_limit: "límite diario de contactos",
                   weekly_channel_limit: "límite semanal del canal", channel_not_authorised: "canal no autorizado",
                   opted_out: "el deudor pidió no ser contactado", do_not_contact: "marcado como no contactar",
                   account_inactive: "cuenta inactiva", call_limit_7_in_7: "más de 7 llamadas en 7 días",
                   call_after_conversation: "llamada después de una conversación reciente",
                   legal_hold: "cuenta con retención legal"};
  const ERRORS = {promise_mismatch: "La promesa de pago necesita el resultado «Promesa de pago», y solo ese.",
                  invalid_promise: "La promesa no es válida: el monto debe ser positivo y no mayor que el saldo, " +
                                   "y la fecha debe estar dentro de la ventana de promesas del cliente.",
                  amount_not_in_minor_units: "El monto tiene más decimales de los que tiene la moneda del cliente " +
                                             "(el peso chileno no tiene decimales).",
                  contact_in_future: "La hora del contacto está en el futuro.",
                  not_found: "La cuenta o la llamada asignada no existe.",
                  validation_error: "Los datos del formulario no son válidos.",
                  csrf_token_invalid: "La sesión no es válida: vuelva a cargar la página.",
                  forbidden: "Su rol no permite esta acción.", unauthorized: "La sesión terminó: inicie sesión de nuevo."};
  // Why a call handed out was withdrawn (the handler's words, or the contact law's codes when the desk found it).
  const WITHDRAWN = {"account recalled": "el cliente retiró la cuenta", "account paid": "la cuenta quedó pagada",
                     "account settled": "la cuenta quedó saldada con un acuerdo",
                     "opted out": "el deudor pidió no ser llamado", "do not contact": "el deudor está en la lista de no contactar",
                     "legal hold: dispute": "la cuenta tiene una retención legal (disputa)",
                     "legal hold: deceased": "la cuenta tiene una retención legal (fallecimiento)",
                     "legal hold: insolvency": "la cuenta tiene una retención legal (insolvencia)",
                     "legal hold: litigation": "la cuenta tiene una retención legal (litigio)",
                     "person erased": "los datos personales del deudor fueron suprimidos",
                     "not pursued": "la estrategia dejó de gestionar la cuenta (no gestionar)"};
  let call = null;
  let marks = null;
  let watch = null;

  function chosen() {
    const option = $("client").selectedOptions[0];
    return {slug: option.value, currency: option.dataset.currency, timezone: option.dataset.timezone, group: option.dataset.group,
            decimal: option.dataset.decimal, locale: option.dataset.locale,
            money: window.recaudoAmounts(JSON.parse(option.dataset.amounts))};
  }

  // In the company's currency and locale exactly as the server writes it (es-CO's $1.500.000,00, none for CLP):
  // amounts.js in the style the chosen company's option carries (data-amounts), never the browser's Intl data,
  // whose CLDR differs, so the balance reads as in the platform's script for the call and on the account page.
  function money(amount, m) {
    return m.money(amount);
  }

  function amountOf(raw, m) {
    const plain = raw.trim().split(m.group).join("").replace(m.decimal, ".");
    return /^\d+(\.\d{1,2})?$/.test(plain) ? plain : null;
  }

  function withdrawnReason(reason) {
    if (WITHDRAWN[reason]) return WITHDRAWN[reason];
    if (/^account /.test(reason)) return "la cuenta ya no está abierta";
    return reason.split(", ").map((r) => REASONS[r] || "una regla que siempre bloquea").join(", ");
  }

  async function problem(answer) {
    let body = {};
    try { body = await answer.json(); } catch (e) { body = {}; }
    const code = body.code || "";
    if (code === "call_withdrawn") {
      const reason = (body.errors && body.errors[0] && body.errors[0].reason) || "";
      return "La llamada fue retirada y no debe hacerse: " + withdrawnReason(reason) +
        ". No cuenta como contacto; pida la siguiente.";
    }
    return ERRORS[code] || ("La solicitud no se completó (código " + answer.status + ").");
  }

  // While a call is the agent's and not logged, the page asks for it again: a call withdrawn meanwhile (a recall,
  // a payment, an opt-out, a hold) is taken off the screen with why, before it is dialled.
  async function stillTheirs() {
    if (!call) return;
    const answer = await fetch("/v1/agent/calls/" + encodeURIComponent(call.attempt_id) + "?client=" +
                               encodeURIComponent(marks.slug),
                               {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (answer.status !== 409) return;
    const said = await problem(answer);
    stopWatching();
    call = null;
    $("call").hidden = true;
    $("desk-status").textContent = said;
  }

  function stopWatching() { if (watch) { clearInterval(watch); watch = null; } }

  function fallbackScript(item) {
    const offer = item.offer ? " Ofrezca: " + (OFFERS[item.offer] || item.offer) + "." : "";
    return "Salude a " + item.debtor_name + " y confirme que habla con el titular. Informe el saldo de la cuenta " +
      item.account_ref + ": " + money(item.balance, marks) + "." + offer +
      " Pregunte cuándo puede pagar y registre el resultado.";
  }

  async function nextCall() {
    stopWatching();
    $("desk-status").textContent = "Buscando la siguiente llamada…";
    $("outcome-status").textContent = "";
    $("link-status").textContent = "";
    marks = chosen();
    const answer = await fetch("/v1/agent/next?client=" + encodeURIComponent(marks.slug),
                               {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!answer.ok) { $("desk-status").textContent = await problem(answer); return; }
    const item = (await answer.json()).item;
    call = item;
    if (!item) {
      $("call").hidden = true;
      $("desk-status").textContent = "No hay llamadas ahora.";
      return;
    }
    $("desk-status").textContent = "Llamada asignada.";
    $("account-ref").textContent = item.account_ref;
    $("debtor-name").textContent = item.debtor_name;
    $("phones").textContent = item.phones.length ? item.phones.join(", ") : "Sin teléfonos";
    $("balance").textContent = money(item.balance, marks);
    $("days-past-due").textContent = item.days_past_due === null ? "Sin dato" : String(item.days_past_due);
    $("offer").textContent = item.offer ? (OFFERS[item.offer] || item.offer) : "Sin oferta";
    const given = (item.script || "").trim();
    $("script-source").textContent = given ?
      "Guion que dio la plataforma para esta cuenta (el del cliente o el predeterminado):" :
      "La API no envió guion: este lo arma la consola con los datos de la cuenta.";
    $("script").textContent = given || fallbackScript(item);
    $("outcome-form").reset();
    $("promise").hidden = true;
    $("log-outcome").disabled = false;
    $("call").hidden = false;
    watch = setInterval(() => { stillTheirs().catch(() => {}); }, 10000);
  }

  async function logOutcome(event) {
    event.preventDefault();
    if (!call) return;
    const outcome = $("outcome").value;
    const body = {channel: "agent", at: new Date().toISOString(), outcome: outcome, attempt_id: call.attempt_id};
    if (outcome === "promise_to_pay") {
      const amount = amountOf($("promise-amount").value, marks);
      const due = $("promise-date").value;
      if (!amount || !due) {
        $("outcome-status").textContent = "Indique el monto prometido y la fecha de pago.";
        return;
      }
      body.promise = {amount: amount, due_date: due};
    }
    $("outcome-status").textContent = "Registrando…";
    const url = "/v1/clients/" + encodeURIComponent(marks.slug) + "/accounts/" +
      encodeURIComponent(call.account_ref) + "/contacts";
    const answer = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
    if (!answer.ok) {
      const said = await problem(answer);
      if (answer.status === 409) {  // withdrawn: nothing to log, the call is gone from the desk
        stopWatching();
        $("log-outcome").disabled = true;
        $("desk-status").textContent = said;
      }
      $("outcome-status").textContent = "No se registró: " + said;
      return;
    }
    stopWatching();
    const logged = await answer.json();
    let said = "Resultado registrado para la cuenta " + call.account_ref + ".";
    if (logged.promise_id) said += " Promesa de pago registrada.";
    if (logged.rule_violations.length) {
      said += " Atención: el contacto incumplió reglas: " +
        logged.rule_violations.map((r) => REASONS[r] || r).join(", ") + ".";
    }
    $("outcome-status").textContent = said;
    $("log-outcome").disabled = true;
  }

  async function paymentLink() {
    if (!call) return;
    const url = "/v1/clients/" + encodeURIComponent(marks.slug) + "/accounts/" +
      encodeURIComponent(call.account_ref) + "/payment-link";
    const answer = await fetch(url, {method: "POST", credentials: "same-origin",
                                     headers: {"X-CSRF-Token": csrf}});
    if (!answer.ok) { $("link-status").textContent = "No se generó el enlace: " + await problem(answer); return; }
    const link = await answer.json();
    $("link-status").textContent = "Enlace para el deudor (vence " +
      new Date(link.expires_at).toLocaleString("es", {timeZone: marks.timezone}) + "): " + link.url;
  }

  $("next-call").addEventListener("click", () => { nextCall().catch(() => {
    $("desk-status").textContent = "No se pudo pedir la siguiente llamada."; }); });
  $("outcome").addEventListener("change", () => { $("promise").hidden = $("outcome").value !== "promise_to_pay"; });
  $("outcome-form").addEventListener("submit", (e) => { logOutcome(e).catch(() => {
    $("outcome-status").textContent = "No se pudo registrar el resultado."; }); });
  $("payment-link").addEventListener("click", () => { paymentLink().catch(() => {
    $("link-status").textContent = "No se pudo generar el enlace."; }); });
})();
