// The page in headless Chromium (playwright-core driving the system Chromium): a correct
// balance shows as verified, batches are sampled to the confidence; nodes that tamper with the
// balance, the proof or a share are shown as rejected with the reason. Takes screenshots and
// prints the page's performance figures as JSON.
// Usage: node tests/browser.mjs <page-base> <l1> <node> <balance-liar> <proof-liar> <share-liar> <address> <out-dir>
import { chromium } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, l1, node, balanceLiar, proofLiar, shareLiar, address, outDir] = process.argv.slice(2);
const profile = await mkdtemp(join(tmpdir(), "casl2-chromium-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = {};
let failed = null;
const T = 30_000;
const url = (n) => `${base}/www/index.html?l1=${encodeURIComponent(l1)}&node=${encodeURIComponent(n)}&chain=1&address=${address}`;
const status = (p) => p.waitForSelector('#balance-status:not([data-state="idle"]):not([data-state="working"])', { timeout: T });

try {
  const page = await ctx.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url(node));
  await status(page);
  const state = await page.getAttribute("#balance-status", "data-state");
  if (state !== "verified") {
    throw new Error(`honest node: balance ${state}: ${await page.textContent("#balance-reason")} ${logs.join(" | ")}`);
  }
  out.balance = await page.textContent("#balance-value");
  await page.waitForSelector('#batches li[data-state="available"]', { timeout: T });
  await page.waitForFunction(() => window.casl2Metrics["sample verification ms (with commitment check)"] !== undefined
    && Object.keys(window.casl2Metrics).some((k) => k.startsWith("quorum verification")), null, { timeout: T });
  out.metrics = await page.evaluate(() => window.casl2Metrics);
  out.batch = await page.textContent('#batches li[data-state="available"]');
  await page.screenshot({ path: join(outDir, "light-browser.png"), fullPage: true });

  for (const [name, liar, want] of [["balance", balanceLiar, "does not match its proof"], ["proof", proofLiar, "account proof"]]) {
    const p = await ctx.newPage();
    await p.goto(url(liar));
    await status(p);
    const st = await p.getAttribute("#balance-status", "data-state");
    const reason = await p.textContent("#balance-reason");
    if (st !== "rejected" || !reason.includes(want)) throw new Error(`${name} liar: ${st}: ${reason}`);
    out[`${name}Liar`] = reason;
    await p.close();
  }
  const p = await ctx.newPage();
  await p.goto(url(shareLiar));
  await p.waitForSelector('#batches li[data-state="failed"]', { timeout: T });
  const text = await p.textContent('#batches li[data-state="failed"]');
  if (!text.includes("NOT shown available")) throw new Error(`share liar: ${text}`);
  out.shareLiar = text;
  await p.screenshot({ path: join(outDir, "light-browser-rejected-share.png"), fullPage: true });
} catch (e) {
  failed = e;
}
await ctx.close();
await rm(profile, { recursive: true, force: true });
if (failed) {
  console.error(`browser test: ${failed.message}`);
  process.exit(1);
}
console.log(JSON.stringify(out));
