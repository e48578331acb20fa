// The suspense queue's "Asignar" and "Es la misma consignación": call the payments API with the session cookie and
// the page's CSRF token, then take the row out of the queue and say what happened (or the API's refusal) in Spanish.
"use strict";
(function () {
  const token = document.querySelector('meta[name="csrf-token"]');
  const outcome = document.getElementById("outcome");

  function say(text, failed) {
    outcome.textContent = text;
    outcome.className = failed ? "error" : "notice";
    outcome.setAttribute("role", failed ? "alert" : "status");
    outcome.hidden = false;
  }

  // Why the API refused an assignment, a closing or a reversal, as an operator reads it (its detail is English, for
  // developers); a code the page does not know is named as it came.
  const REFUSALS = {
    not_found: "el pago ya no existe", payment_not_unmatched: "el pago ya salió de la cola; recargue la página",
    unknown_account: "la cuenta indicada no existe en esta empresa",
    invalid_currency: "el pago está en otra moneda que la cuenta",
    amount_not_in_cents: "el monto tiene fracciones de centavo, que ningún saldo recibe",
    amount_not_in_minor_units: "el monto tiene más decimales de los que usa la moneda",
    not_possible_duplicate: "el pago no está en espera como una consignación ya aplicada",
    recorded_payment_not_applied: "el pago con el que coincidiría ya no está aplicado (¿se revirtió?): asígnelo",
    payment_not_applied: "solo se revierte un pago aplicado a una cuenta",
    invalid_amount: "el monto no es válido: debe ser mayor que cero, con dos decimales a lo sumo",
    reversal_exceeds_payment: "el monto pasa de lo que queda por revertir del pago",
    idempotency_key_reused: "este formulario ya se usó con otros datos; recargue la página",
    validation_error: "revise los datos escritos",
    csrf_token_invalid: "la sesión caducó; recargue la página e intente de nuevo",
    unauthorized: "la sesión terminó; vuelva a iniciar sesión", forbidden: "su rol no permite esta acción",
    rate_limited: "demasiadas acciones seguidas; espere un momento",
  };

  function refusal(result, status) {
    return REFUSALS[result.code] || ("error " + (result.code || status));
  }

  // A row of the queue resolved by the API (`body`: what to send, null for nothing): on success the row leaves the
  // table and `done(answer's body)` says what happened; otherwise `refused(answer's body)` may say it in its own
  // words (returning null leaves it to `failed` and the API's reason).
  async function resolve(form, body, done, failed, refused) {
    const row = form.closest("tr");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const headers = {"Accept": "application/json", "X-CSRF-Token": token ? token.content : ""};
      if (body !== null) headers["Content-Type"] = "application/json";
      const answer = await fetch(form.dataset.action, {
        method: "POST", credentials: "same-origin", headers: headers,
        body: body === null ? undefined : JSON.stringify(body),
      });
      const result = await answer.json().catch(() => ({}));
      if (answer.ok) {
        row.remove();
        say(done(row, result), false);
        if (!document.querySelector("#suspense tbody tr")) {
          document.getElementById("suspense").hidden = true;
        }
      } else {
        const own = refused ? refused(result) : null;
        say(own || (failed + ": " + refusal(result, answer.status) + "."), true);
      }
    } catch (e) {
      say(failed + ": no hubo respuesta del servidor. Intente de nuevo.", true);
    } finally {
      button.disabled = false;
    }
  }

  const ANOTHER = "Es otra consignación: asignar";

  // Assigning a payment that may be the same deposit as one already applied to the account is refused until the
  // operator says it is another one: the button then says so, and pressing it again sends another_deposit.
  function assign(form) {
    const account = form.elements.account_ref.value.trim();
    if (!account) { say("Escriba la referencia de la cuenta.", true); return; }
    const button = form.querySelector("button");
    const another = form.dataset.anotherFor === account;
    const body = another ? {account_ref: account, another_deposit: true} : {account_ref: account};
    resolve(form, body, (row, result) =>
      "Pago de " + row.dataset.amount + " asignado a la cuenta " + (result.account_ref || account) + ".",
      "No se asignó el pago", (result) => {
        if (result.code !== "possible_duplicate") return null;
        form.dataset.anotherFor = account;
        button.textContent = ANOTHER;
        offerSameDeposit(form);  // the API now holds it as maybe that deposit
        return "No se asignó el pago: puede ser la misma consignación que otro pago ya aplicado a la cuenta " +
          account + " en esos días. Si es otra consignación, pulse «" + ANOTHER + "»; si es la misma, pulse «" +
          SAME + "».";
      });
  }

  const SAME = "Es la misma consignación";

  // The row's «Es la misma consignación», as the page draws it for a payment held as maybe a deposit already
  // applied, added when an assignment was refused for that reason (once).
  function offerSameDeposit(form) {
    const cell = form.parentElement;
    if (cell.querySelector("form.same")) return;
    const same = document.createElement("form");
    same.className = "assign same";
    same.dataset.action = form.dataset.action.replace(/\/assign$/, "/same-deposit");
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = SAME;
    same.appendChild(button);
    same.addEventListener("submit", function (event) { event.preventDefault(); sameDeposit(same); });
    cell.appendChild(same);
  }

  // A payment held as maybe a deposit already applied, closed as that one: nothing is booked.
  function sameDeposit(form) {
    resolve(form, null, (row) =>
      "El pago de " + row.dataset.amount + " quedó como la misma consignación ya aplicada; no se aplicó de nuevo.",
      "No se cerró el pago");
  }

  // An amount as the client company's locale writes it ("50.000,00" in es-CO) as the API reads it ("50000.00").
  function decimal(text, form) {
    const group = form.dataset.group, mark = form.dataset.decimal;
    const plain = text.replace(/[\s$]/g, "").split(group).join("").replace(mark, ".");
    return /^\d+(\.\d{1,2})?$/.test(plain) ? plain : null;
  }

  // As the server writes the page's rows (amounts.js, the style the form carries): the currency's decimals, none
  // for Chilean pesos, and one way of writing an amount on the page.
  function amounts(form) {
    return window.recaudoAmounts(JSON.parse(form.dataset.amounts));
  }

  async function reverse(form) {
    const typed = form.elements.amount.value.trim();
    const amount = typed ? decimal(typed, form) : null;
    if (typed && amount === null) { say("El monto no es válido: escríbalo como 50.000,00.", true); return; }
    const body = {};
    if (amount) body.amount = amount;
    if (form.elements.reason.value.trim()) body.reason = form.elements.reason.value.trim();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await fetch(form.dataset.action, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "Idempotency-Key": form.dataset.key, "X-CSRF-Token": token ? token.content : ""},
        body: JSON.stringify(body),
      });
      const result = await answer.json().catch(() => ({}));
      if (answer.ok) {
        const shown = amounts(form);
        say("Pago revertido por " + shown(result.amount) + "; del pago quedan " + shown(result.remaining) +
            " y la cuenta " + result.account_ref + " debe " + shown(result.new_balance) + ".", false);
        form.closest("tr").querySelector(".reversed").textContent = shown(result.reversed_total);
        if (Number(result.remaining) === 0) form.replaceWith(document.createTextNode("Revertido"));
      } else {
        // The body holds only the amount and the reason: the schema refuses an amount of 0 (the domain, 0.001).
        const why = result.code === "validation_error" && amount ? REFUSALS.invalid_amount
                                                                 : refusal(result, answer.status);
        say("No se revirtió el pago: " + why + ".", true);
      }
    } catch (e) {
      say("No se revirtió el pago: no hubo respuesta del servidor. Intente de nuevo.", true);
    } finally {
      button.disabled = false;
    }
  }

  const STATUSES = {applied: "Aplicado", unmatched: "En la cola sin asignar", duplicate: "Repetido (ya recibido)",
                    rejected: "Rechazado"};
  const REASONS = {unknown_account_ref: "La cuenta indicada no existe", unknown_debtor_id: "No hay deudor con ese " +
                   "documento", invalid_amount: "Monto no válido", no_reference: "Llegó sin referencia",
                   possible_duplicate: "Puede ser la consignación ya registrada a mano para la cuenta",
                   already_banked: "Puede ser una consignación que el extracto del banco ya trajo",
                   transaction_id_reused: "El banco ya usó ese número de transacción con otro monto o fecha",
                   missing_reference: "La línea no trae referencia", invalid_date: "Fecha no válida",
                   returned_by_bank: "El banco devolvió el pago: no entró dinero",
                   paid_at_in_future: "Fecha posterior al día en que se leyó el archivo: aún no se ha pagado"};

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  // The file's result as GET .../payments/files/{id} answers it: counts, then what became of each line.
  function showFile(form, file) {
    const money = amounts(form);
    const counts = file.counts || {};
    document.getElementById("bank-file-counts").textContent = file.status === "failed"
      ? "Archivo rechazado entero, nada se aplicó: " + (WHOLE_FILE[file.error_code] || file.error_code) +
        (file.error_line ? " (línea " + file.error_line + ")" : "") + "."
      : "Archivo " + (file.filename || "") + ": " + (counts.applied || 0) + " aplicados, " + (counts.unmatched || 0) +
        " en la cola sin asignar, " + (counts.duplicate || 0) + " repetidos, " + (counts.rejected || 0) + " rechazados.";
    const body = document.querySelector("#bank-file-rows tbody");
    body.replaceChildren();
    (file.results || []).forEach(function (r) {
      const row = document.createElement("tr");
      cell(row, String(r.row));
      cell(row, STATUSES[r.status] || r.status);
      cell(row, r.reference || r.transaction_id || "—");
      cell(row, r.amount ? money(r.amount) : "—");
      cell(row, r.reason ? (REASONS[r.reason] || r.reason) : "—");
      body.appendChild(row);
    });
    document.getElementById("bank-file-result").hidden = false;
  }

  // Why a bank file was refused, as an operator reads it (the API's detail is English, for developers).
  const REFUSED_FILES = {
    unsupported_format: "el extracto debe ser un archivo CSV (o Asobancaria 2001)",
    unsupported_media_type: "el envío no trae un archivo", invalid_form: "el envío no trae un archivo",
    file_too_large: "pasa del tamaño que se permite", empty_file: "está vacío",
    malformed_csv: "no se puede leer como CSV", invalid_encoding: "no se puede leer: su codificación no es de texto",
    too_many_columns: "tiene demasiadas columnas", invalid_header: "su fila de encabezados no se puede leer",
    invalid_locale: "la configuración regional pedida no existe", invalid_format: "el formato pedido no existe",
    csrf_token_invalid: "la sesión caducó; recargue la página e intente de nuevo",
    unauthorized: "la sesión terminó; vuelva a iniciar sesión", forbidden: "su rol no permite subir archivos",
  };
  const WHOLE_FILE = {bank_file_totals_mismatch: "sus totales de control no cuadran con sus líneas",
                      bank_file_malformed: "está mal formado"};
  const COLUMNS = {reference: "la referencia", amount: "el monto", date: "la fecha"};

  function fileRefusal(sent, status) {
    const code = sent.code;
    const line = sent.errors && sent.errors[0] && sent.errors[0].line;
    if (WHOLE_FILE[code]) {
      return "No se aplicó nada del archivo: " + WHOLE_FILE[code] + (line ? " (línea " + line + ")" : "") + ".";
    }
    if (code === "missing_required_columns") {
      const missing = /no column for ([a-z_, ]+);/.exec(sent.detail || "");
      const names = missing ? missing[1].split(", ").map((f) => COLUMNS[f] || f) : [];
      return "No se recibió el archivo: no tiene columna para " + (names.join(", ") || "un dato necesario") + ".";
    }
    return "No se recibió el archivo: " + (REFUSED_FILES[code] || ("error " + (code || status))) + ".";
  }

  async function upload(form) {
    const chosen = form.elements.file.files[0];
    if (!chosen) { say("Elija el archivo del banco.", true); return; }
    const data = new FormData();
    data.append("file", chosen);
    const button = form.querySelector("button");
    button.disabled = true;
    say("Subiendo y conciliando " + chosen.name + "…", false);
    try {
      const answer = await fetch(form.dataset.action, {
        method: "POST", credentials: "same-origin", body: data,
        headers: {"Accept": "application/json", "X-CSRF-Token": token ? token.content : ""},
      });
      const sent = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        say(fileRefusal(sent, answer.status), true);
        return;
      }
      const result = await fetch(answer.headers.get("Location") || (form.dataset.action + "/" + sent.id),
                                 {credentials: "same-origin", headers: {"Accept": "application/json"}});
      const file = result.ok ? await result.json() : sent;
      say(answer.status === 200 ? "Este archivo ya se había recibido: su resultado es el de entonces."
                                : "Archivo recibido y conciliado.", false);
      showFile(form, file);
    } catch (e) {
      say("No se recibió el archivo: no hubo respuesta del servidor. Intente de nuevo.", true);
    } finally {
      button.disabled = false;
    }
  }

  const bankFile = document.getElementById("bank-file");
  if (bankFile) {
    bankFile.addEventListener("submit", function (event) { event.preventDefault(); upload(bankFile); });
  }

  document.querySelectorAll("form.reverse").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); reverse(form); });
  });

  document.querySelectorAll("#suspense form.assign:not(.same)").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); assign(form); });
    // Another account typed: the question is asked again for it.
    form.elements.account_ref.addEventListener("input", function () {
      delete form.dataset.anotherFor;
      form.querySelector("button").textContent = "Asignar";
    });
  });
  document.querySelectorAll("#suspense form.same").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); sameDeposit(form); });
  });

  // The forms' buttons come disabled: clicked before this script ran, the browser would submit the form itself
  // (a reload that does nothing). Now that each form calls the API, they can be used.
  document.querySelectorAll("button[data-needs-script]").forEach(function (button) { button.disabled = false; });
})();
