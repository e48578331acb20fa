// The client company settings page's script (#23): each section reads its settings from the owning service's /v1
// API with the session cookie and saves them with the page's CSRF token (and If-Match with the ETag read, where the
// route takes one); the template editor asks for a preview as one types. Secrets are write-only: the API never
// answers them and the page never shows them. Text goes in by textContent and .value only, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const root = $("settings");
  const slug = root.dataset.slug;
  const canEdit = root.dataset.canEdit === "true";
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const base = "/v1/clients/" + encodeURIComponent(slug);
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const ERRORS = {
    precondition_failed: "Otra persona cambió estos ajustes después de que usted los cargó: recargue la página y " +
                         "vuelva a hacer el cambio.",
    validation_error: "Hay datos que no son válidos: revise los campos (números, horas, campos obligatorios).",
    immutable_setting: "El país, la moneda y el identificador de la empresa no pueden cambiar.",
    invalid_client: "Los ajustes no son válidos (por ejemplo, una zona horaria o un idioma desconocidos).",
    rules_looser_than_law: "Las reglas serían más flexibles que las de la ley del país: solo pueden ser más estrictas.",
    invalid_template: "La plantilla no es válida.",
    template_too_expensive: "La plantilla es demasiado costosa de generar (bucles o textos enormes).",
    insecure_api_url: "La dirección de la API debe usar https.",
    not_found: "No existe (todavía no está configurado).",
    forbidden: "Su rol no permite este cambio.",
    csrf_token_invalid: "La sesión no es válida: vuelva a cargar la página.",
    unauthorized: "La sesión terminó: inicie sesión de nuevo.",
  };

  async function api(method, url, body, etag) {
    const headers = {Accept: "application/json"};
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (etag) headers["If-Match"] = etag;
    const answer = await fetch(url, {method: method, credentials: "same-origin", headers: headers,
                                     body: body === undefined ? undefined : JSON.stringify(body)});
    let json = null;
    try { json = await answer.json(); } catch (e) { json = null; }
    return {ok: answer.ok, status: answer.status, json: json, etag: answer.headers.get("ETag")};
  }

  function templateProblem(detail) {
    // The API's reasons, one per "; ", said in Spanish (unknown ones are shown as the API gave them).
    return detail.split("; ").map((part) => {
      let m = /^unknown variable\(s\): ([^;]+)$/.exec(part);
      if (m) return "Usa variables que no existen: " + m[1] + ".";
      if (/^known: /.test(part)) return "";
      m = /^(subject|body): syntax error on line (\d+)/.exec(part);
      if (m) return "Error de sintaxis en " + (m[1] === "subject" ? "el asunto" : "el texto") + ", línea " + m[2] + ".";
      if (/opt-out line/.test(part)) return "La ley exige la línea para darse de baja: incluya {{ opt_out }}.";
      if (/email needs a subject/.test(part)) return "Un correo necesita asunto.";
      if (/unknown locale/.test(part)) return "Idioma desconocido.";
      return part;
    }).filter((s) => s).join(" ");
  }

  function meaning(answer) {
    const code = (answer.json && answer.json.code) || "";
    let said = ERRORS[code] || ("La solicitud no se completó (código " + answer.status + ").");
    if (code === "invalid_template" && answer.json.detail) said += " " + templateProblem(answer.json.detail);
    return said;
  }

  function say(id, text) { $(id).textContent = text; }
  const saved = "Cambios guardados.";
  const orNull = (v) => (v.trim() === "" ? null : v.trim());
  const intOrNull = (v) => (v.trim() === "" ? null : Number(v));
  const decimal = (v) => v.trim().replace(",", ".");

  // General and costs: one client company in ingest, one ETag for both.
  let ingestTag = null;
  function showClient(c) {
    $("general-name").value = c.name;
    $("general-timezone").value = c.timezone;
    $("general-locale").value = c.locale;
    document.querySelectorAll("#general input[name=channel]").forEach((box) => {
      box.checked = c.default_authorised_channels.includes(box.value);
    });
    $("general-promise-window").value = c.promise_window_days;
    say("general-fixed", "País " + c.country + " y moneda " + c.currency + ": no cambian una vez asignadas cuentas.");
    say("costs-currency", c.currency);
    ["sms", "whatsapp", "email", "voice", "agent"].forEach((k) => {
      $("cost-" + k).value = c.cost_table && c.cost_table[k] !== undefined ? c.cost_table[k] : "";
    });
  }
  async function loadClient() {
    const answer = await api("GET", base);
    if (!answer.ok) { say("general-status", meaning(answer)); return; }
    ingestTag = answer.etag;
    showClient(answer.json);
  }
  async function saveGeneral() {
    const channels = Array.from(document.querySelectorAll("#general input[name=channel]:checked")).map((b) => b.value);
    const body = {name: $("general-name").value.trim(), timezone: $("general-timezone").value.trim(),
                  locale: $("general-locale").value, default_authorised_channels: channels,
                  promise_window_days: Number($("general-promise-window").value)};
    const answer = await api("PATCH", base, body, ingestTag);
    if (!answer.ok) { say("general-status", "No se guardó: " + meaning(answer)); return; }
    ingestTag = answer.etag;
    showClient(answer.json);
    say("general-status", saved);
  }
  async function saveCosts() {
    const body = {};
    ["sms", "whatsapp", "email", "voice", "agent"].forEach((k) => { body[k] = decimal($("cost-" + k).value); });
    const answer = await api("PUT", base + "/cost-table", body, ingestTag);
    if (!answer.ok) { say("costs-status", "No se guardó: " + meaning(answer)); return; }
    ingestTag = answer.etag;
    showClient(answer.json);
    say("costs-status", saved);
  }

  // Contact rules (outreach): the rules in force are shown; what is saved becomes the company's own.
  let rulesTag = null;
  function showRules(r) {
    say("rules-country", r.country);
    DAYS.forEach((d) => {
      const w = r.windows[d];
      $("rules-" + d + "-from").value = w ? w[0] : "";
      $("rules-" + d + "-to").value = w ? w[1] : "";
    });
    $("rules-daily-limit").value = r.daily_limit === null ? "" : r.daily_limit;
    $("rules-calls-7").value = r.calls_in_7_days === null ? "" : r.calls_in_7_days;
    $("rules-one-channel").checked = r.one_channel_per_week;
  }
  async function loadRules() {
    const answer = await api("GET", base + "/contact-rules");
    if (!answer.ok) { say("rules-status", meaning(answer)); return; }
    rulesTag = answer.etag;
    showRules(answer.json);
  }
  async function saveRules() {
    const windows = {};
    DAYS.forEach((d) => {
      const from = $("rules-" + d + "-from").value, to = $("rules-" + d + "-to").value;
      windows[d] = from && to ? [from, to] : null;
    });
    const body = {windows: windows, daily_limit: intOrNull($("rules-daily-limit").value),
                  calls_in_7_days: intOrNull($("rules-calls-7").value),
                  one_channel_per_week: $("rules-one-channel").checked};
    const answer = await api("PUT", base + "/contact-rules", body, rulesTag);
    if (!answer.ok) { say("rules-status", "No se guardó: " + meaning(answer)); return; }
    rulesTag = answer.etag;
    showRules(answer.json);
    say("rules-status", saved);
  }

  // Commission (reporting): fractions in the API, percentages on the page.
  const percent = (f) => String(Number((Number(f) * 100).toFixed(4)));
  const fraction = (p) => String(Number((Number(decimal(p)) / 100).toFixed(6)));
  function commissionRow(bucket, rate) {
    const row = document.createElement("tr");
    const cells = [["text", bucket, "Tramo"], ["text", rate, "Comisión (%)"]].map(([type, value, label]) => {
      const cell = document.createElement("td");
      const input = document.createElement("input");
      input.type = type; input.value = value; input.setAttribute("aria-label", label); input.disabled = !canEdit;
      cell.appendChild(input);
      return cell;
    });
    cells.forEach((c) => row.appendChild(c));
    $("commission-rows").appendChild(row);
  }
  let commissionTag = null;
  async function loadCommission() {
    const answer = await api("GET", base + "/commission-rates");
    if (!answer.ok) { say("commission-status", meaning(answer)); return; }
    commissionTag = answer.etag;
    $("commission-rows").textContent = "";
    Object.entries(answer.json.rates).forEach(([bucket, rate]) => commissionRow(bucket, percent(rate)));
    $("commission-default").value = answer.json.default === null ? "" : percent(answer.json.default);
  }
  async function saveCommission() {
    const rates = {};
    $("commission-rows").querySelectorAll("tr").forEach((row) => {
      const [bucket, rate] = Array.from(row.querySelectorAll("input")).map((i) => i.value.trim());
      if (bucket && rate) rates[bucket] = fraction(rate);
    });
    const given = $("commission-default").value.trim();
    const answer = await api("PUT", base + "/commission-rates",
                             {rates: rates, default: given ? fraction(given) : null}, commissionTag);
    if (!answer.ok) { say("commission-status", "No se guardó: " + meaning(answer)); return; }
    await loadCommission();
    say("commission-status", saved);
  }

  // Templates (outreach), with the preview asked for as one types.
  let templateTag = null;
  let previewTimer = null;
  let previewAsked = 0;
  function templateUrl() {
    return base + "/templates/" + encodeURIComponent($("template-channel").value) + "/" +
      encodeURIComponent($("template-locale").value);
  }
  function showPreview(p) {
    say("preview-subject", p.subject || "");
    say("preview-body", p.body);
    say("preview-parts", p.segments ? "SMS de " + p.segments + " parte(s), codificación " + p.encoding + "." : "");
  }
  function showTemplate(t) {
    $("template-subject").value = t.subject || "";
    $("template-body").value = t.body;
    say("template-source", t.source === "client" ? "Plantilla propia de la empresa (versión " + t.version + ")."
                                                 : "Plantilla predeterminada de la plataforma.");
    say("template-variables", Object.keys(t.variables).map((v) => "{{ " + v + " }}").join(", "));
    if (t.preview) { showPreview(t.preview); say("preview-state", "Vista previa al día."); }
    else { say("preview-state", "La plantilla guardada no se puede generar."); }
  }
  async function loadTemplate() {
    say("template-status", "");
    const answer = await api("GET", templateUrl());
    if (!answer.ok) { say("template-status", meaning(answer)); return; }
    templateTag = answer.etag;
    showTemplate(answer.json);
  }
  async function preview() {
    const asked = ++previewAsked;
    const body = {channel: $("template-channel").value, locale: $("template-locale").value,
                  subject: orNull($("template-subject").value), body: $("template-body").value};
    if (!body.body.trim()) { say("preview-state", "Escriba el texto de la plantilla."); return; }
    const answer = await api("POST", base + "/templates/preview", body);
    if (asked !== previewAsked) return;  // a later keystroke asked again: only its answer is shown
    if (!answer.ok) { say("preview-state", meaning(answer)); return; }
    showPreview(answer.json);
    say("preview-state", "Vista previa al día.");
  }
  function previewSoon() {
    say("preview-state", "Actualizando la vista previa…");
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => { preview().catch(() => say("preview-state", "No se pudo generar la vista previa.")); }, 300);
  }
  async function saveTemplate() {
    const body = {subject: orNull($("template-subject").value), body: $("template-body").value};
    const answer = await api("PUT", templateUrl(), body, templateTag);
    if (!answer.ok) { say("template-status", "No se guardó: " + meaning(answer)); return; }
    templateTag = answer.etag;
    showTemplate(answer.json);
    say("template-status", saved);
  }

  // WhatsApp (outreach): the secrets are written, never read back.
  async function loadWhatsApp() {
    const answer = await api("GET", base + "/channels/whatsapp");
    if (answer.status === 404) { say("whatsapp-current", "WhatsApp no está configurado para esta empresa."); return; }
    if (!answer.ok) { say("whatsapp-current", meaning(answer)); return; }
    const w = answer.json;
    const set = (b) => (b ? "guardado" : "falta");
    $("whatsapp-phone").value = w.phone_number_id;
    $("whatsapp-version").value = w.api_version;
    say("whatsapp-current", "Configurado: número " + w.phone_number_id + ", API " + w.api_version + ". Webhook para " +
        "Meta: " + w.webhook_url + ". Token de acceso " + set(w.access_token_set) + ", secreto de la app " +
        set(w.app_secret_set) + ", token de verificación " + set(w.verify_token_set) + ".");
  }
  async function saveWhatsApp() {
    const body = {kind: "whatsapp_cloud", phone_number_id: $("whatsapp-phone").value.trim(),
                  access_token: $("whatsapp-token").value, app_secret: $("whatsapp-secret").value,
                  verify_token: $("whatsapp-verify").value};
    if ($("whatsapp-version").value.trim()) body.api_version = $("whatsapp-version").value.trim();
    const answer = await api("PUT", base + "/channels/whatsapp", body);
    if (!answer.ok) { say("whatsapp-status", "No se guardó: " + meaning(answer)); return; }
    ["whatsapp-token", "whatsapp-secret", "whatsapp-verify"].forEach((id) => { $(id).value = ""; });
    await loadWhatsApp();
    say("whatsapp-status", saved);
  }

  // Payment gateways (payments): each kind's fields; secrets are password inputs, emptied once saved.
  const GATEWAY_FIELDS = {
    wompi: [["public_key", "Llave pública", false], ["events_secret", "Secreto de eventos", true],
            ["integrity_secret", "Secreto de integridad", true], ["private_key", "Llave privada (opcional)", true]],
    mercadopago: [["access_token", "Token de acceso", true], ["webhook_secret", "Secreto del webhook", true],
                  ["api_base_url", "Dirección de la API (opcional)", false]],
    payu: [["merchant_id", "Id de comercio", false], ["account_id", "Id de cuenta", false],
           ["api_key", "Llave de la API", true], ["api_login", "Usuario de la API (opcional)", true]],
    stripe: [["webhook_secret", "Secreto del webhook", true], ["secret_key", "Llave secreta (opcional)", true]],
  };
  function gatewayFields() {
    const box = $("gateway-fields");
    box.textContent = "";
    GATEWAY_FIELDS[$("gateway-kind").value].forEach(([name, label, secret]) => {
      const l = document.createElement("label");
      l.htmlFor = "gateway-" + name; l.textContent = label;
      const input = document.createElement("input");
      input.type = secret ? "password" : "text"; input.id = "gateway-" + name; input.name = name;
      input.autocomplete = "off"; input.disabled = !canEdit;
      box.appendChild(l); box.appendChild(input);
    });
  }
  async function loadGateway() {
    say("gateway-status", "");
    const name = $("gateway-name").value.trim();
    const answer = await api("GET", base + "/gateways/" + encodeURIComponent(name));
    if (answer.status === 404) { say("gateway-current", "No hay una cuenta de pasarela con ese nombre."); return; }
    if (!answer.ok) { say("gateway-current", meaning(answer)); return; }
    const g = answer.json;
    $("gateway-kind").value = g.kind;
    gatewayFields();
    ["public_key", "api_base_url", "merchant_id", "account_id"].forEach((k) => {
      if (g[k] && $("gateway-" + k)) $("gateway-" + k).value = g[k];
    });
    const optional = [["private_key_set", "llave privada"], ["api_login_set", "usuario de la API"],
                      ["secret_key_set", "llave secreta"]].filter(([k]) => g[k] !== null && g[k] !== undefined)
      .map(([k, label]) => label + (g[k] ? " guardada" : " sin configurar"));
    say("gateway-current", "Cuenta «" + g.name + "» en " + $("gateway-kind").selectedOptions[0].textContent +
        ". Webhook para la pasarela: " + g.webhook_url + "." + (optional.length ? " " + optional.join(", ") + "." : ""));
  }
  async function saveGateway() {
    const name = $("gateway-name").value.trim();
    const body = {kind: $("gateway-kind").value};
    $("gateway-fields").querySelectorAll("input").forEach((i) => { if (i.value.trim()) body[i.name] = i.value.trim(); });
    const answer = await api("PUT", base + "/gateways/" + encodeURIComponent(name), body);
    if (!answer.ok) { say("gateway-status", "No se guardó: " + meaning(answer)); return; }
    await loadGateway();
    say("gateway-status", saved);
  }

  function on(formId, statusId, save) {
    $(formId).addEventListener("submit", (event) => {
      event.preventDefault();
      if (!canEdit) return;
      say(statusId, "Guardando…");
      save().catch(() => say(statusId, "No se pudo guardar: sin respuesta del servidor."));
    });
  }
  on("general", "general-status", saveGeneral);
  on("reglas", "rules-status", saveRules);
  on("costos", "costs-status", saveCosts);
  on("comision", "commission-status", saveCommission);
  on("plantillas", "template-status", saveTemplate);
  on("canales", "whatsapp-status", saveWhatsApp);
  on("pasarelas", "gateway-status", saveGateway);
  $("commission-add").addEventListener("click", () => commissionRow("", ""));
  $("template-channel").addEventListener("change", () => { loadTemplate().catch(() => {}); });
  $("template-locale").addEventListener("change", () => { loadTemplate().catch(() => {}); });
  $("template-body").addEventListener("input", previewSoon);
  $("template-subject").addEventListener("input", previewSoon);
  $("gateway-kind").addEventListener("change", gatewayFields);
  $("gateway-load").addEventListener("click", () => { loadGateway().catch(() => {}); });

  if (!canEdit) {  // read-only: what the person may read stays, nothing to change or save
    document.querySelectorAll("form input, form select, form textarea").forEach((el) => {
      if (!["template-channel", "template-locale", "gateway-name", "gateway-kind"].includes(el.id)) el.disabled = true;
    });
    document.querySelectorAll("form .save").forEach((b) => { b.hidden = true; });
  }
  gatewayFields();
  const failed = (id) => () => say(id, "No se pudo cargar esta sección.");
  loadClient().catch(failed("general-status"));
  loadRules().catch(failed("rules-status"));
  loadCommission().catch(failed("commission-status"));
  loadTemplate().catch(failed("template-status"));
  loadWhatsApp().catch(failed("whatsapp-status"));
  loadGateway().catch(failed("gateway-status"));
})();
