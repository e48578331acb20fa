// The suspense queue's "Asignar": calls the payments API with the session cookie and the page's CSRF token, then
// takes the row out of the queue and says what happened (or the API's refusal) in Spanish.
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

  async function assign(form) {
    const row = form.closest("tr");
    const account = form.elements.account_ref.value.trim();
    if (!account) { say("Escriba la referencia de la cuenta.", true); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await fetch(form.dataset.action, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRF-Token": token ? token.content : ""},
        body: JSON.stringify({account_ref: account}),
      });
      const body = await answer.json().catch(() => ({}));
      if (answer.ok) {
        row.remove();
        say("Pago de " + row.dataset.amount + " asignado a la cuenta " + (body.account_ref || account) + ".", false);
        if (!document.querySelector("#suspense tbody tr")) {
          document.getElementById("suspense").hidden = true;
        }
      } else {
        say("No se asignó el pago: " + (body.detail || body.title || ("error " + answer.status)) + ".", true);
      }
    } catch (e) {
      say("No se asignó el pago: no hubo respuesta del servidor. Intente de nuevo.", true);
    } finally {
      button.disabled = false;
    }
  }

  document.querySelectorAll("form.assign").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); assign(form); });
  });
})();
