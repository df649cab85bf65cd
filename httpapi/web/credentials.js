// credvault credentials page: list, search, filter, page, add, rename and
// delete credentials, and show authenticator codes, through the REST API.
// It never receives a stored secret (the API has none to give). No inline
// script (CSP).
"use strict";
(function () {
  const { storage, apiKey, call, keyLabel, url } = window.credvault;
  const API = url("api/v1/credentials");
  const PAGE_SIZE = 10;
  const $ = (id) => document.getElementById(id);
  let page = 1;
  let pendingDelete = null;
  const timers = new Map(); // credential id -> code refresh timer

  function say(id, ok, text) {
    const el = $(id);
    el.hidden = false;
    el.className = "result " + (ok ? "ok" : "fail");
    el.textContent = text;
  }

  function keyState(haveKey) {
    $("key-forget").hidden = !haveKey;
    $("list-fields").disabled = !haveKey;
    $("key-hint").textContent = haveKey
      ? "Key " + keyLabel(apiKey()) + " in use for this tab. Forget it when you are done."
      : "Kept in this browser tab only (session storage) and sent as x-api-key.";
  }

  const typeNames = { password: "Password", credit_card: "Card", secret: "Secret" };

  function details(v) {
    const c = v.credential || {};
    if (v.credential_type === "password") {
      return c.username + (c.totp_type && c.totp_type !== "none" ? " · 2FA: " + c.totp_type : "");
    }
    if (v.credential_type === "credit_card") return (c.brand || "") + " •••• " + (c.last_four || "");
    return c.secret_label ? "Label: " + c.secret_label : "";
  }

  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  function stopCodes() { for (const t of timers.values()) clearTimeout(t); timers.clear(); }

  async function showCode(v, cell, btn) {
    btn.disabled = true;
    const tick = async () => {
      const { status, data } = await call("GET", API + "/" + encodeURIComponent(v.credential_id) + "/totp-code");
      if (status !== 200) { cell.textContent = data.detail; btn.disabled = false; return; }
      let left = data.seconds_remaining;
      const render = () => {
        cell.innerHTML = "";
        const code = document.createElement("span");
        code.className = "code";
        code.textContent = data.code;
        cell.append(code, " — " + left + " s left");
        cell.dataset.code = data.code;
      };
      render();
      const count = () => {
        left -= 1;
        if (left <= 0) { tick(); return; }
        render();
        timers.set(v.credential_id, setTimeout(count, 1000));
      };
      timers.set(v.credential_id, setTimeout(count, 1000));
    };
    await tick();
  }

  function row(v) {
    const tr = document.createElement("tr");
    tr.dataset.id = v.credential_id;
    const name = document.createElement("td");
    name.className = "name";
    name.textContent = v.name;
    const type = document.createElement("td");
    type.textContent = typeNames[v.credential_type] || v.credential_type;
    const det = document.createElement("td");
    det.textContent = details(v);
    const codeCell = document.createElement("div");
    codeCell.className = "code-cell";
    codeCell.setAttribute("aria-live", "polite");
    det.append(codeCell);
    const act = document.createElement("td");
    const actions = document.createElement("div");
    actions.className = "actions";
    if (v.credential_type === "password" && v.credential && v.credential.totp_type === "authenticator") {
      const b = button("Code", "secondary code-btn", () => showCode(v, codeCell, b));
      actions.append(b);
    }
    actions.append(button("Rename", "secondary rename-btn", () => rename(v, name)));
    actions.append(button("Delete", "danger delete-btn", () => askDelete(v)));
    act.append(actions);
    tr.append(name, type, det, act);
    return tr;
  }

  function rename(v, cell) {
    cell.innerHTML = "";
    const input = document.createElement("input");
    input.type = "text";
    input.value = v.name;
    input.setAttribute("aria-label", "New name for " + v.name);
    const save = button("Save", "rename-save", async () => {
      const name = input.value.trim();
      if (!name) { input.focus(); return; }
      const { status, data } = await call("PATCH", API + "/" + encodeURIComponent(v.credential_id), { name });
      if (status === 200) { say("list-result", true, "Renamed to " + data.name + "."); await load(); }
      else say("list-result", false, data.detail);
    });
    const cancel = button("Cancel", "secondary", () => load());
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") save.click(); if (ev.key === "Escape") cancel.click(); });
    cell.append(input, save, cancel);
    input.focus();
  }

  function askDelete(v) {
    pendingDelete = v;
    $("confirm-q").textContent = "Delete “" + v.name + "”? Its secret is removed from your credential service too.";
    $("confirm").hidden = false;
    $("confirm-no").focus();
  }

  let loadSeq = 0;

  async function load() {
    const seq = ++loadSeq;
    stopCodes();
    const q = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
    const search = $("search").value.trim();
    if (search) q.set("search", search);
    if ($("type-filter").value) q.set("credential_type", $("type-filter").value);
    const { status, data } = await call("GET", API + "?" + q.toString());
    if (seq !== loadSeq) return; // a newer listing is on its way
    if (status === 401) {
      $("key-error").textContent = "The API key was rejected. Check it and try again.";
      $("key-error").hidden = false;
      storage.clear();
      keyState(false);
      return;
    }
    $("key-error").hidden = true;
    if (status !== 200) { say("list-result", false, data.detail); return; }
    const rows = $("rows");
    rows.innerHTML = "";
    for (const v of data) rows.append(row(v));
    // An organization with no credential at all is invited to add one; a
    // search or filter that matches nothing says so.
    const filtered = search !== "" || $("type-filter").value !== "" || page > 1;
    $("list-empty").textContent = filtered ? "No credentials match." :
      "No credentials yet. Add the first one with “Add credential”: its secret goes to your custom credential service.";
    $("list-empty").hidden = data.length > 0;
    $("page-label").textContent = "Page " + page;
    $("prev").disabled = page <= 1;
    $("next").disabled = data.length < PAGE_SIZE;
  }

  // --- the add form -------------------------------------------------------

  function groups() {
    const t = $("f-type").value;
    $("g-password").hidden = t !== "password";
    $("g-card").hidden = t !== "credit_card";
    $("g-secret").hidden = t !== "secret";
    $("g-meta").hidden = t === "secret";
    const tt = $("f-totp-type").value;
    $("g-totp").hidden = !(t === "password" && tt === "authenticator");
    $("g-totp-id").hidden = !(t === "password" && (tt === "email" || tt === "text"));
  }

  const val = (id) => $(id).value.trim();
  const opt = (id) => { const v = $(id).value.trim(); return v === "" ? null : v; };

  function metadata() {
    const m = {};
    for (const line of $("f-meta").value.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) m[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return Object.keys(m).length ? m : null;
  }

  function body() {
    const t = $("f-type").value;
    const b = { name: val("f-name"), credential_type: t };
    if (t === "password") {
      const tt = $("f-totp-type").value;
      b.credential = { username: val("f-username"), password: $("f-password").value, totp_type: tt,
        totp: tt === "authenticator" ? opt("f-totp") : null,
        totp_identifier: tt === "email" || tt === "text" ? opt("f-totp-id") : null, metadata: metadata() };
    } else if (t === "credit_card") {
      const addr = {};
      for (const [k, id] of [["line1", "f-line1"], ["line2", "f-line2"], ["city", "f-city"], ["state", "f-state"],
        ["postal_code", "f-postal"], ["country", "f-country"], ["country_code", "f-country-code"]]) {
        if (val(id)) addr[k] = val(id);
      }
      b.credential = { card_holder_name: val("f-holder"), card_number: val("f-number"), card_exp_month: val("f-month"),
        card_exp_year: val("f-year"), card_cvv: val("f-cvv"), card_brand: val("f-brand"),
        billing_address: Object.keys(addr).length ? addr : null, billing_email: opt("f-email"), billing_phone: opt("f-phone"),
        metadata: metadata() };
    } else {
      b.credential = { secret_value: $("f-secret").value, secret_label: opt("f-label") };
    }
    return b;
  }

  // Labels of the API's field names, for errors in words.
  const labels = { name: "Name", username: "Username", password: "Password", totp: "Authenticator secret",
    card_holder_name: "Card holder name", card_number: "Card number", card_exp_month: "Expiry month",
    card_exp_year: "Expiry year", card_cvv: "CVV", card_brand: "Brand", secret_value: "Secret value", metadata: "Metadata" };
  function worded(detail) {
    const m = /^([a-z_.]+): (.*)$/.exec(detail || "");
    return m && labels[m[1]] ? labels[m[1]] + ": " + m[2] : detail;
  }

  // --- a live code preview for an authenticator secret (RFC 6238) --------

  function base32(s) {
    const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits = "";
    for (const ch of s.toUpperCase().replace(/[\s=-]/g, "")) {
      const i = alpha.indexOf(ch);
      if (i < 0) return null;
      bits += i.toString(2).padStart(5, "0");
    }
    const out = new Uint8Array(Math.floor(bits.length / 8));
    for (let i = 0; i < out.length; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
    return out.length ? out : null;
  }

  function totpParams(v) {
    let p = { secret: v, period: 30, digits: 6, algorithm: "SHA-1" };
    if (/^otpauth:\/\//i.test(v)) {
      try {
        const u = new URL(v);
        p.secret = u.searchParams.get("secret") || "";
        p.period = parseInt(u.searchParams.get("period") || "30", 10);
        p.digits = parseInt(u.searchParams.get("digits") || "6", 10);
        p.algorithm = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" }[(u.searchParams.get("algorithm") || "SHA1").toUpperCase()];
      } catch (e) { return null; }
    }
    if (!(p.period >= 1 && p.period <= 300) || !(p.digits >= 6 && p.digits <= 8) || !p.algorithm) return null;
    p.key = base32(p.secret);
    return p.key ? p : null;
  }

  async function previewCode() {
    const out = $("totp-preview");
    const v = $("f-totp").value.trim();
    if (!v) { out.textContent = "—"; return; }
    const p = totpParams(v);
    if (!p) { out.textContent = "not a valid base32 seed or otpauth URI"; return; }
    if (!window.crypto || !crypto.subtle) { out.textContent = "(preview needs a secure context)"; return; }
    const now = Math.floor(Date.now() / 1000);
    const counter = Math.floor(now / p.period);
    const msg = new Uint8Array(8);
    for (let i = 7, c = counter; i >= 0; i--, c = Math.floor(c / 256)) msg[i] = c & 255;
    const key = await crypto.subtle.importKey("raw", p.key, { name: "HMAC", hash: p.algorithm }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
    const off = mac[mac.length - 1] & 15;
    const bin = ((mac[off] & 127) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
    const code = String(bin % 10 ** p.digits).padStart(p.digits, "0");
    out.textContent = code + " — " + (p.period - (now % p.period)) + " s left";
  }
  setInterval(() => { if (!$("g-totp").hidden && !$("form-section").hidden) previewCode(); }, 1000);

  // --- wiring -------------------------------------------------------------

  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("api-key").value.trim();
    if (!k) { $("key-error").textContent = "Enter the organization API key."; $("key-error").hidden = false; return; }
    storage.set(k);
    $("api-key").value = "";
    keyState(true);
    page = 1;
    load();
  });
  $("key-forget").addEventListener("click", () => {
    storage.clear();
    keyState(false);
    stopCodes();
    $("rows").innerHTML = "";
    $("form-section").hidden = true;
  });
  let debounce = null;
  $("search").addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => { page = 1; load(); }, 250); });
  $("type-filter").addEventListener("change", () => { clearTimeout(debounce); page = 1; load(); });
  $("prev").addEventListener("click", () => { if (page > 1) { page--; load(); } });
  $("next").addEventListener("click", () => { page++; load(); });
  $("add-btn").addEventListener("click", () => {
    $("form-section").hidden = false;
    $("form-result").hidden = true;
    groups();
    $("f-name").focus();
  });
  $("cancel-btn").addEventListener("click", () => { $("cred-form").reset(); $("form-section").hidden = true; $("add-btn").focus(); });
  $("f-type").addEventListener("change", groups);
  $("f-totp-type").addEventListener("change", groups);
  $("f-totp").addEventListener("input", previewCode);
  $("cred-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!val("f-name")) { say("form-result", false, "Name: is required"); $("f-name").focus(); return; }
    const btn = $("save-btn");
    btn.disabled = true;
    try {
      const { status, data } = await call("POST", API, body());
      if (status === 201) {
        $("cred-form").reset();
        $("form-section").hidden = true;
        say("list-result", true, "Saved “" + data.name + "”.");
        page = 1;
        await load();
      } else {
        say("form-result", false, worded(data.detail));
      }
    } finally { btn.disabled = false; }
  });
  $("confirm-no").addEventListener("click", () => { $("confirm").hidden = true; pendingDelete = null; });
  $("confirm-yes").addEventListener("click", async () => {
    const v = pendingDelete;
    $("confirm").hidden = true;
    if (!v) return;
    const { status, data } = await call("DELETE", API + "/" + encodeURIComponent(v.credential_id));
    if (status === 204) { say("list-result", true, "Deleted “" + v.name + "”."); await load(); }
    else say("list-result", false, data.detail);
  });
  groups();
  if (apiKey()) { keyState(true); load(); } else { keyState(false); }
})();
