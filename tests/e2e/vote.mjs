// End-to-end: a member votes in real headless Chromium.
//
// Usage: node vote.mjs BASE_URL TRUST_ID PROPOSAL KEY_FILE SCREENSHOT_DIR
// Opens the dashboard of a seeded trust, checks the pages read without JavaScript, loads
// the member's key file, casts a vote signed in the browser, and checks that the tally, the
// quorum bar and the log show it. Screenshots go to SCREENSHOT_DIR. Every check prints one
// line; the closing line is "N passed, N failed" and the exit code is non-zero on failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, trust, proposal, keyFile, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: node vote.mjs BASE_URL TRUST_ID PROPOSAL KEY_FILE SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
let passed = 0;
let failed = 0;
function check(what, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "FAILED"}: ${what}${detail ? ` (${detail})` : ""}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const foreign = [];
try {
  // Reading without JavaScript: the content is all there, the signing form stays hidden.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const still = await plain.newPage();
  await still.goto(`${base}/trusts/${trust}/proposals/${proposal}`);
  const tallyNoJs = await still.textContent("#tally-text");
  check("the proposal page reads without JavaScript", /yes, \d+ no/.test(tallyNoJs), tallyNoJs);
  check("without JavaScript the signing form stays hidden", await still.isHidden("#sign-form"));
  await plain.close();

  const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  const page = await context.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) foreign.push(r.url());
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(`${base}/trusts/${trust}`);
  check("the overview names the trust", (await page.textContent("h1")).trim().length > 0);
  await page.screenshot({ path: join(shots, "1-overview.png"), fullPage: true });

  await page.goto(`${base}/trusts/${trust}/proposals/${proposal}`);
  const before = Number(await page.getAttribute("#quorum-bar", "aria-valuenow"));
  const tallyBefore = await page.textContent("#tally-text");
  const yesBefore = Number(/(\d+) yes/.exec(tallyBefore)[1]);
  const widthBefore = await page.$eval("#quorum-bar .fill", (e) => e.style.width);
  check("with JavaScript the signing form shows", await page.isVisible("#sign-form"));
  await page.screenshot({ path: join(shots, "2-proposal-before.png"), fullPage: true });

  await page.setInputFiles("#key-file", keyFile);
  await page.check("input[name=choice][value=yes]");
  await Promise.all([
    page.waitForURL(/logged=\d+/, { timeout: 15000 }),
    page.click("#vote-button"),
  ]);
  const notice = await page.textContent(".notice");
  const entry = Number(/entry (\d+)/.exec(notice)[1]);
  check("the vote was logged", Number.isInteger(entry), notice.trim());
  const after = Number(await page.getAttribute("#quorum-bar", "aria-valuenow"));
  check("the quorum bar counts one more voter", after === before + 1, `${before} -> ${after}`);
  const widthAfter = await page.$eval("#quorum-bar .fill", (e) => e.style.width);
  check("the quorum bar grew", parseFloat(widthAfter) > parseFloat(widthBefore), `${widthBefore} -> ${widthAfter}`);
  const tallyAfter = await page.textContent("#tally-text");
  const yesAfter = Number(/(\d+) yes/.exec(tallyAfter)[1]);
  check("the tally shows one more yes", yesAfter === yesBefore + 1, tallyAfter);
  await page.screenshot({ path: join(shots, "3-proposal-after-vote.png"), fullPage: true });

  await page.goto(`${base}/trusts/${trust}/log`);
  const row = page.locator(`#entry-${entry}`);
  check("the new log entry appears", (await row.count()) === 1);
  const text = await row.textContent();
  check("the entry is the allowed vote", /vote/.test(text) && /allowed/.test(text), text.replace(/\s+/g, " ").trim());
  await page.screenshot({ path: join(shots, "4-log.png"), fullPage: true });

  // Voting again is refused: the server answers with its stable code, shown to the member.
  await page.goto(`${base}/trusts/${trust}/proposals/${proposal}`);
  await page.setInputFiles("#key-file", keyFile);
  await page.check("input[name=choice][value=no]");
  await page.click("#vote-button");
  await page.waitForFunction(() => /Not submitted|denied/.test(document.getElementById("sign-status").textContent), null, { timeout: 15000 });
  const refusal = await page.textContent("#sign-status");
  check("a second vote is refused and the page says why", /denied|invalid|already/.test(refusal), refusal);
  await page.screenshot({ path: join(shots, "5-second-vote-refused.png"), fullPage: true });

  // Every page at a desktop and a phone width: a screenshot of each, and nothing that
  // makes the page scroll sideways.
  const paths = [
    ["index", "/"], ["overview", `/trusts/${trust}`], ["members", `/trusts/${trust}/members`],
    ["assets", `/trusts/${trust}/assets`], ["proposals", `/trusts/${trust}/proposals`],
    ["proposal", `/trusts/${trust}/proposals/${proposal}`], ["log", `/trusts/${trust}/log`],
    ["bylaws", `/trusts/${trust}/bylaws`], ["audit", `/trusts/${trust}/audit`], ["docs", "/docs"],
    ["not-found", `/trusts/${trust}/proposals/999`],
  ];
  for (const width of [1280, 390]) {
    const sized = await browser.newContext({ viewport: { width, height: 900 } });
    const p = await sized.newPage();
    p.on("request", (r) => {
      if (!r.url().startsWith(base)) foreign.push(r.url());
    });
    for (const [name, path] of paths) {
      await p.goto(`${base}${path}`);
      const [scroll, client] = await p.evaluate(() => [
        document.documentElement.scrollWidth, document.documentElement.clientWidth,
      ]);
      check(`${name} fits ${width} px without sideways scrolling`, scroll <= client, `page ${scroll} px wide in ${client}`);
      await p.screenshot({ path: join(shots, `${width}-${name}.png`), fullPage: true });
    }
    await sized.close();
  }

  check("no script errors", errors.length === 0, errors.join("; "));
  check("nothing was loaded from outside the binary", foreign.length === 0, foreign.join(", "));
} catch (e) {
  check("the browser run finished", false, e.stack || String(e));
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
