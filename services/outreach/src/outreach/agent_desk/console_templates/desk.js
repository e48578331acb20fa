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
  let call = null;
  let marks = null;

  function chosen() {
    const option = $("client").selectedOptions[0];
    return {slug: option.value, currency: option.dataset.currency, timezone: option.dataset.timezone, group: option.dataset.group,
            decimal: option.dataset.decimal, locale: option.dataset.locale,
            minorUnits: Number(option.dataset.minorUnits)};
  }

  // The company's currency by its code (an agent works several companies' calls), in its locale and with the
  // decimals the platform keeps in it (none for CLP), as the account page writes amounts.
  function money(amount, m) {
    return new Intl.NumberFormat(m.locale, {style: "currency", currency: m.currency, currencyDisplay: "code",
                                            minimumFractionDigits: m.minorUnits,
                                            maximumFractionDigits: m.minorUnits}).format(Number(amount));
  }

  function amountOf(raw, m) {
    const plain = raw.trim().split(m.group).join("").replace(m.decimal, ".");
    return /^\d+(\.\d{1,2})?$/.test(plain) ? plain : null;
  }

  async function problem(answer) {
    let code = "";
    try { code = (await answer.json()).code || ""; } catch (e) { code = ""; }
    return ERRORS[code] || ("La solicitud no se completó (código " + answer.status + ").");
  }

  function fallbackScript(item) {
    const offer = item.offer ? " Ofrezca: " + (OFFERS[item.offer] || item.offer) + "." : "";
    return "Salude a " + item.debtor_name + " y confirme que habla con el titular. Informe el saldo de la cuenta " +
      item.account_ref + ": " + money(item.balance, marks) + "." + offer +
      " Pregunte cuándo puede pagar y registre el resultado.";
  }

  async function nextCall() {
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
    if (!answer.ok) { $("outcome-status").textContent = "No se registró: " + await problem(answer); return; }
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
