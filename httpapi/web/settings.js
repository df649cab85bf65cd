// credvault settings page: configure, test and clear the organization's
// custom credential service through the REST API. No inline script (CSP).
"use strict";
(function () {
  const { storage, apiKey, call, keyLabel, url } = window.credvault;
  const API = url("api/v1/credentials/custom_credential");
  const KEYS = url("api/v1/keys");
  const $ = (id) => document.getElementById(id);
  let busy = false;

  function showResult(ok, text) {
    const el = $("result");
    el.hidden = false;
    el.className = "result " + (ok ? "ok" : "fail");
    el.textContent = labelled(text);
  }

  function setBusy(on, button, label) {
    busy = on;
    for (const b of document.querySelectorAll("#config-form button, #key-form button")) b.disabled = on;
    $("config-section").setAttribute("aria-busy", String(on));
    if (button) {
      if (on) { button.dataset.label = button.textContent; button.textContent = label; }
      else if (button.dataset.label) { button.textContent = button.dataset.label; }
    }
  }

  async function run(button, label, fn) {
    if (busy) return;
    setBusy(true, button, label);
    try { await fn(); } finally { setBusy(false, button); }
  }

  function renderStatus(kind, text, tok) {
    const box = $("status");
    box.className = "status " + kind;
    $("status-badge").textContent = { active: "Active", env: "Operator's service", none: "Not configured", failed: "Error", unknown: "Unknown" }[kind];
    $("status-text").textContent = text;
    const details = $("status-details");
    details.hidden = !tok;
    if (tok) {
      let inner = {};
      try { inner = JSON.parse(tok.token); } catch (e) {}
      $("status-url").textContent = inner.api_base_url || "";
      $("status-token").textContent = inner.api_token || "";
      const t = $("status-updated");
      t.dateTime = tok.modified_at;
      t.textContent = new Date(tok.modified_at).toLocaleString();
    }
  }

  // role is the key's role once known ("" before): only an admin key may
  // change the configuration.
  let role = "";

  function keyState(haveKey) {
    if (!haveKey) role = "";
    $("key-forget").hidden = !haveKey;
    $("config-fields").disabled = !haveKey || (role !== "" && role !== "admin");
    $("key-role").hidden = !haveKey || role === "";
    $("key-hint").textContent = haveKey
      ? "Key " + keyLabel(apiKey()) + " in use for this tab. Forget it when you are done."
      : "Kept in this browser tab only (session storage) and sent as x-api-key.";
  }

  // labelled turns the API's field paths into the form's labels.
  function labelled(detail) {
    return String(detail || "")
      .replace(/^config\.api_base_url: /, "API Base URL: ")
      .replace(/^config\.api_token: /, "API Token: ")
      .replace(/^config: /, "Configuration: ");
  }

  let envSource = false;

  // loadRole asks which role the key has and says what it may do here.
  async function loadRole() {
    const { status, data } = await call("GET", KEYS + "/current");
    if (status !== 200) return status;
    role = data.role;
    $("key-role").textContent = role === "admin"
      ? "Role: admin. This key can change the configuration."
      : "Role: " + role + ". This key cannot change the configuration: use an admin key for that.";
    keyState(true);
    return status;
  }

  async function loadKey() {
    const st = await loadRole();
    if (st === 401) return loadStatus(); // says the key was rejected
    if (role === "agent") {
      renderStatus("unknown", "This key's role (agent) reads credentials for automation runs; it cannot read or change the configuration.");
      return true;
    }
    return loadStatus();
  }

  async function loadStatus() {
    envSource = false;
    const { status, data } = await call("GET", API + "/get");
    $("key-error").hidden = true;
    if (status === 200) {
      renderStatus("active", "Credentials are stored in this service.", data.token);
      let inner = {};
      try { inner = JSON.parse(data.token.token); } catch (e) {}
      if (!$("base-url").value) $("base-url").value = inner.api_base_url || "";
    } else if (status === 404) {
      // Nothing saved: the operator's service may be in use.
      const st = await call("GET", API + "/status");
      envSource = st.status === 200 && st.data.source === "environment";
      if (envSource) {
        renderStatus("env", "Using the service configured by the operator (" + (st.data.api_base_url || "") +
          "). Test it, or save your organization's own service below.");
      } else {
        renderStatus("none", "No custom credential service is configured for this organization.");
      }
    } else if (status === 401) {
      renderStatus("unknown", "Enter a valid organization API key.");
      $("key-error").textContent = "The API key was rejected. Check it and try again.";
      $("key-error").hidden = false;
      storage.clear();
      keyState(false);
      return false;
    } else {
      renderStatus("failed", data.detail);
    }
    return true;
  }

  function configBody(requireToken) {
    const url = $("base-url").value.trim();
    const token = $("api-token").value;
    if (!url) { showResult(false, "Enter the API Base URL."); $("base-url").focus(); return null; }
    if (requireToken && !token.trim()) { showResult(false, "Enter the API Token."); $("api-token").focus(); return null; }
    const config = { api_base_url: url };
    if (token.trim()) config.api_token = token;
    return { config };
  }

  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("api-key").value.trim();
    if (!k) { $("key-error").textContent = "Enter the organization API key."; $("key-error").hidden = false; return; }
    run($("key-use"), "Checking…", async () => {
      storage.set(k);
      $("api-key").value = "";
      keyState(true);
      await loadKey();
    });
  });

  $("key-forget").addEventListener("click", () => {
    storage.clear();
    keyState(false);
    $("api-token").value = "";
    $("result").hidden = true;
    renderStatus("unknown", "Enter the organization API key to load the configuration.");
  });

  $("token-toggle").addEventListener("click", () => {
    const input = $("api-token");
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    $("token-toggle").textContent = show ? "Hide" : "Show";
    $("token-toggle").setAttribute("aria-pressed", String(show));
  });

  $("test-btn").addEventListener("click", () => {
    // With the operator's service in use and nothing entered, test that.
    const useEnv = envSource && !$("base-url").value.trim() && !$("api-token").value.trim();
    const body = useEnv ? undefined : configBody(false);
    if (!useEnv && !body) return;
    run($("test-btn"), "Testing…", async () => {
      const q = $("roundtrip").checked ? "?mode=roundtrip" : "";
      const { status, data } = await call("POST", API + "/test_connection" + q, body);
      showResult(status === 200 && data.success, data.detail || "Connection test finished.");
    });
  });

  $("config-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = configBody(true);
    if (!body) return;
    run($("save-btn"), "Saving…", async () => {
      const { status, data } = await call("POST", API + "/create", body);
      if (status === 200) {
        $("api-token").value = "";
        showResult(true, "Configuration saved.");
        await loadStatus();
      } else {
        showResult(false, data.detail);
      }
    });
  });

  $("clear-btn").addEventListener("click", () => {
    $("clear-confirm").hidden = false;
    $("clear-no").focus();
  });
  $("clear-no").addEventListener("click", () => { $("clear-confirm").hidden = true; $("clear-btn").focus(); });
  $("clear-yes").addEventListener("click", () => {
    run($("clear-yes"), "Clearing…", async () => {
      const { status, data } = await call("DELETE", API);
      $("clear-confirm").hidden = true;
      if (status === 200) {
        $("base-url").value = "";
        $("api-token").value = "";
        showResult(true, "Configuration cleared.");
        await loadStatus();
      } else {
        showResult(false, data.detail);
      }
    });
  });

  if (apiKey()) { keyState(true); run(null, "", loadKey); } else { keyState(false); }
})();
