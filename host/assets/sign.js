// cltd: sign a transition in the browser and submit it.
//
// The member's key file (the 32-byte Ed25519 secret as hex, as `cltd keys new` writes it)
// is read here and imported into WebCrypto; it is never sent anywhere. The page encodes the
// transition exactly as the runtime does (postcard: fixed arrays raw, integers as LEB128
// varints, enums by variant index; see docs/design.md), signs
// "cltd/transition/v1\0" || body with Ed25519, and posts the envelope. The server checks
// the signature, the canonical encoding and the sequence number like any other client's.
"use strict";
(function () {
  const form = document.getElementById("sign-form");
  if (!form || !window.crypto || !crypto.subtle) return;
  form.hidden = false;
  const status = document.getElementById("sign-status");
  const trust = form.dataset.trust;
  const proposal = BigInt(form.dataset.proposal);
  const DOMAIN = new TextEncoder().encode("cltd/transition/v1\0");
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  // Action variants and choices, in the WIT contract's order.
  const ACTION = { vote: 1n, close: 2n, execute: 3n };
  const CHOICE = { yes: 0n, no: 1n, abstain: 2n };

  function say(text, bad) {
    status.textContent = text;
    status.className = bad ? "bad" : "";
  }
  function varint(n) {
    n = BigInt(n);
    const out = [];
    while (n >= 0x80n) { out.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
    out.push(Number(n));
    return out;
  }
  function fromHex(text) {
    const clean = text.trim();
    if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new Error("the key file is not hex");
    const out = new Uint8Array(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
    return out;
  }
  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function fromBase64Url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
  }
  async function loadKey(file) {
    const seed = fromHex(await file.text());
    if (seed.length !== 32) throw new Error("the key file must hold a 32-byte secret (64 hex digits)");
    const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...seed]);
    const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    return { key, public: fromBase64Url(jwk.x) };
  }
  function body(signer, seq, act, choice) {
    const bytes = [...fromHex(trust), ...signer, ...varint(seq), ...varint(ACTION[act])];
    bytes.push(...varint(proposal));
    if (act === "vote") bytes.push(...varint(CHOICE[choice]));
    return new Uint8Array(bytes);
  }
  async function errorText(response) {
    try {
      const e = (await response.json()).error;
      return e.code + ": " + e.message;
    } catch (_) {
      return "HTTP " + response.status;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const act = event.submitter ? event.submitter.value : "vote";
    const file = document.getElementById("key-file").files[0];
    const picked = form.querySelector("input[name=choice]:checked");
    if (!file) return say("Choose your key file first.", true);
    if (act === "vote" && !picked) return say("Choose yes, no or abstain.", true);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      say("Signing in your browser…");
      const member = await loadKey(file);
      const who = await fetch(`/v1/trusts/${trust}/signers/${toHex(member.public)}`);
      if (!who.ok) throw new Error(await errorText(who));
      const signer = await who.json();
      const b = body(member.public, signer.next_seq, act, picked && picked.value);
      const message = new Uint8Array([...DOMAIN, ...b]);
      const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, member.key, message));
      const envelope = new Uint8Array([...varint(b.length), ...b, ...varint(signature.length), ...signature]);
      say("Submitting…");
      const response = await fetch(`/v1/trusts/${trust}/transitions`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: envelope,
      });
      if (!response.ok) throw new Error(await errorText(response));
      const receipt = await response.json();
      if (!receipt.verdict.allowed) {
        say(`Logged as entry ${receipt.index}, but the bylaw denied it: ${receipt.verdict.code}: ${receipt.verdict.explanation}`, true);
        buttons.forEach((b) => (b.disabled = false));
        return;
      }
      const url = new URL(window.location.href);
      url.searchParams.set("logged", receipt.index);
      window.location.assign(url.toString());
    } catch (e) {
      say("Not submitted: " + e.message, true);
      buttons.forEach((b) => (b.disabled = false));
    }
  });
})();
