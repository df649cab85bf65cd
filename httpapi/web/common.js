// Shared by credvault's pages: the organization API key kept for this tab
// (session storage, memory in private mode), and calls to the REST API
// that turn every failure into words. No inline script (CSP).
"use strict";
window.credvault = (function () {
  const KEY = "credvault.apiKey";
  let memKey = "";
  const storage = {
    get() { try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; } },
    set(v) { try { sessionStorage.setItem(KEY, v); } catch (e) { /* private mode: keep in memory only */ } memKey = v; },
    clear() { try { sessionStorage.removeItem(KEY); } catch (e) {} memKey = ""; },
  };
  const apiKey = () => storage.get() || memKey;

  // The API's root, where credvault is mounted: each page names its own
  // place relative to it (<meta name="credvault-root">), so every URL
  // stays relative and the pages work under any prefix.
  const root = new URL((document.querySelector('meta[name="credvault-root"]') || { content: "." }).content + "/", window.location.href);
  const url = (path) => new URL(path, root).pathname;

  async function call(method, path, body) {
    const headers = { "x-api-key": apiKey(), "Accept": "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    let resp;
    try { resp = await fetch(path, init); }
    catch (e) { return { status: 0, data: { detail: "Could not reach credvault: check your network connection." } }; }
    let data = {};
    if (resp.status !== 204) { try { data = await resp.json(); } catch (e) { data = {}; } }
    if (!data.detail && !resp.ok) data.detail = "credvault answered HTTP " + resp.status + ".";
    if (resp.status === 429) data.detail = "Too many requests; wait " + (resp.headers.get("Retry-After") || "a few") + " seconds and try again.";
    return { status: resp.status, data };
  }

  // keyLabel shows which key is in use without showing it: its prefix and
  // last four characters.
  const keyLabel = (k) => (k.length > 12 ? k.slice(0, 4) + "…" + k.slice(-4) : "…");

  return { storage, apiKey, call, keyLabel, url };
})();
