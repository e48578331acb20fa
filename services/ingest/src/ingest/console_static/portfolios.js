// The console's portfolio pages: sends a file chosen or dropped to the API (the session's cookie and its CSRF
// token from the page's meta tag), then follows the upload's progress until its result can be shown.
"use strict";
(function () {
  const STATUS = {queued: "En cola", processing: "Procesando", completed: "Completada", failed: "Fallida"};
  const REFUSALS = {
    file_too_large: "El archivo supera el tamaño permitido.",
    uploads_busy: "El servidor está recibiendo muchas cargas; intente de nuevo en unos segundos.",
    rate_limited: "Demasiadas cargas seguidas; espere un momento antes de volver a intentarlo.",
    csrf_token_invalid: "La sesión caducó: recargue la página e intente de nuevo.",
    unsupported_media_type: "El archivo no se pudo enviar como formulario.",
    // Refused at the door, nothing kept (a file the API keeps and refuses opens its record, which says why).
    empty_file: "El archivo está vacío.",
    unknown_mapping_profile: "La empresa no tiene un perfil de mapeo con ese nombre; revise cómo se escribe en " +
                             "«Perfiles de mapeo».",
    invalid_form: "El formulario no se pudo leer; recargue la página e intente de nuevo.",
    forbidden: "Su rol no permite cargar carteras de esta empresa.",
  };
  const FIRST_WAIT_MS = 1000;
  const MAX_WAIT_MS = 5000;
  const GIVE_UP_MS = 30 * 60 * 1000; // past this the page stops asking; a reload asks again

  function csrf() {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function showError(text) {
    const box = document.getElementById("upload-error");
    box.textContent = text;
    box.hidden = false;
  }

  function send(slug, file) {
    const sending = document.getElementById("sending");
    const bar = document.getElementById("sending-bar");
    const label = document.getElementById("sending-text");
    document.getElementById("upload-error").hidden = true;
    sending.hidden = false;
    label.textContent = "Enviando " + file.name + "…";
    const form = new FormData();
    const profile = document.getElementById("mapping-profile").value.trim();
    if (profile) form.append("mapping_profile", profile);
    form.append("file", file, file.name);
    const request = new XMLHttpRequest();  // unlike fetch, it tells how much of the file has gone
    request.open("POST", "/v1/clients/" + encodeURIComponent(slug) + "/portfolios");
    request.setRequestHeader("X-CSRF-Token", csrf());
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    request.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (ignored) { body = {}; }
      if ((request.status === 200 || request.status === 202) && body.id) {
        window.location.assign("/console/portfolios/" + encodeURIComponent(slug) + "/" + body.id);
        return;
      }
      sending.hidden = true;
      if (request.status === 422 && typeof body.instance === "string") {
        // The file was kept and refused (format, encoding, header, mapping): its record says why.
        const id = body.instance.split("/").pop();
        window.location.assign("/console/portfolios/" + encodeURIComponent(slug) + "/" + id);
        return;
      }
      showError("No se pudo cargar la cartera: " +
                (REFUSALS[body.code] || "el servidor respondió " + request.status + "."));
    });
    request.addEventListener("error", function () {
      sending.hidden = true;
      showError("No se pudo cargar la cartera: se perdió la conexión con el servidor.");
    });
    request.send(form);
  }

  function uploadPage(section) {
    const slug = section.dataset.slug;
    const input = document.getElementById("file");
    const zone = document.getElementById("dropzone");
    input.addEventListener("change", function () {
      if (!input.files.length) return;
      send(slug, input.files[0]);
      // Emptied, so the same file chosen again (after a refusal, its profile corrected) is sent again: a browser
      // tells no change when the file chosen is the one already there.
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      const files = e.dataTransfer ? e.dataTransfer.files : [];
      if (files.length) send(slug, files[0]);
    });
  }

  function profiles(slug) {
    const name = document.getElementById("profile-name");
    const lines = document.getElementById("profile-mapping");
    const said = document.getElementById("profile-status");
    function url() {
      return "/v1/clients/" + encodeURIComponent(slug) + "/mappings/" + encodeURIComponent(name.value.trim());
    }
    document.querySelectorAll("#profiles button.profile").forEach(function (button) {
      button.addEventListener("click", function () {
        name.value = button.dataset.name;
        document.getElementById("profile-load").click();
      });
    });
    document.getElementById("profile-load").addEventListener("click", function () {
      if (!name.value.trim()) { said.textContent = "Escriba el nombre del perfil."; return; }
      fetch(url(), {credentials: "same-origin"}).then(async function (r) {
        if (r.status === 404) { said.textContent = "No hay un perfil con ese nombre."; return; }
        if (!r.ok) { said.textContent = "No se pudo leer el perfil (el servidor respondió " + r.status + ")."; return; }
        const profile = await r.json();
        lines.value = Object.entries(profile.mapping).map(function (e) { return e[0] + " = " + e[1]; }).join("\n");
        said.textContent = "Perfil «" + profile.name + "» leído.";
      }).catch(function () { said.textContent = "Se perdió la conexión con el servidor."; });
    });
    document.getElementById("profile-save").addEventListener("click", function () {
      if (!name.value.trim()) { said.textContent = "Escriba el nombre del perfil."; return; }
      const mapping = {};
      let wrong = null;
      lines.value.split("\n").forEach(function (line, i) {
        if (!line.trim()) return;
        const at = line.indexOf("=");
        if (at < 1) { wrong = i + 1; return; }
        mapping[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      });
      if (wrong !== null) { said.textContent = "La línea " + wrong + " no tiene la forma campo = columna."; return; }
      fetch(url(), {method: "PUT", credentials: "same-origin", body: JSON.stringify({mapping: mapping}),
                    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()}})
        .then(async function (r) {
          if (r.ok) { said.textContent = "Perfil «" + name.value.trim() + "» guardado."; return; }
          let body = {};
          try { body = await r.json(); } catch (ignored) { body = {}; }
          said.textContent = r.status === 422
            ? "No se guardó: el perfil está vacío o nombra un campo que la plataforma no conoce."
            : "No se guardó: " + (REFUSALS[body.code] || "el servidor respondió " + r.status + ".");
        }).catch(function () { said.textContent = "Se perdió la conexión con el servidor."; });
    });
  }

  // A large upload waiting between batches says why (the texts are the page's, by the family of events waited for),
  // and stops saying it once it goes on.
  function showPause(card, paused) {
    const said = document.getElementById("paused");
    if (!said) return;
    const text = paused && (card.dataset["paused" + paused.waiting_for.charAt(0).toUpperCase() +
                                         paused.waiting_for.slice(1)] || card.dataset.pausedAccount);
    if (!text) { said.hidden = true; said.textContent = ""; return; }
    const hour = new Date(paused.since).toLocaleTimeString("es-CO", {hour: "2-digit", minute: "2-digit",
                                                                    hourCycle: "h23", timeZone: card.dataset.timezone});
    said.textContent = text.replace("{hora}", hour);
    said.hidden = false;
  }

  function resultPage(card) {
    if (card.dataset.status !== "queued" && card.dataset.status !== "processing") return;
    const started = Date.now();
    let wait = FIRST_WAIT_MS;
    function ask() {
      if (Date.now() - started > GIVE_UP_MS) return;
      fetch("/v1/portfolios/" + card.dataset.id, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (upload) {
          if (upload) {
            const pct = Math.round(upload.progress * 100);
            document.getElementById("progress-bar").value = pct;
            document.getElementById("progress-text").textContent = pct + " %";
            document.getElementById("status").textContent = STATUS[upload.status] || upload.status;
            showPause(card, upload.paused);
            if (upload.status === "completed" || upload.status === "failed") {
              window.location.reload();  // the page's tables come from the server
              return;
            }
          }
          wait = Math.min(MAX_WAIT_MS, wait * 1.5);
          window.setTimeout(ask, wait);
        })
        .catch(function () {
          wait = MAX_WAIT_MS;
          window.setTimeout(ask, wait);
        });
    }
    window.setTimeout(ask, wait);
  }

  const section = document.getElementById("upload");
  if (section) { uploadPage(section); profiles(section.dataset.slug); }
  const card = document.getElementById("portfolio");
  if (card) resultPage(card);
})();
