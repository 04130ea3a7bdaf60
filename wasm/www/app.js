// The casl2 light client page: any static server can serve wasm/ (this page is www/index.html,
// the package pkg/). Query parameters preset the fields: ?l1=…&node=…&chain=…&address=…&confidence=…
import init, { LightClient, verifyAccountProof, verifyQuorum, verifySample } from "../pkg/casl2_wasm.js";

const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
const metrics = {};
window.casl2Metrics = metrics;
const COIN = 1e7;

function showMetrics() {
  const rows = Object.entries(metrics).map(([k, v]) =>
    `<tr><td>${k}</td><td>${typeof v === "number" ? v.toFixed(3) : v}</td></tr>`);
  $("metrics").innerHTML = rows.join("");
}

async function rpc(url, method, params) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await r.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

// The node to ask: the field, or the first active sequencer L1 lists (untrusted either way).
async function nodeUrl(l1, chain) {
  if ($("node").value.trim()) return $("node").value.trim();
  const seqs = await rpc(l1, "l2_getsequencers", [chain]);
  const s = seqs.find((s) => s.status === "active" || s.status === "Active") || seqs[0];
  if (!s) throw new Error("L1 lists no sequencer for this chain; enter a node URL");
  $("node").value = s.endpoint;
  return s.endpoint;
}

let client = null;
let clientKey = "";
async function getClient() {
  const l1 = $("l1").value.trim();
  const chain = Number($("chain").value);
  const node = await nodeUrl(l1, chain);
  const key = `${l1}|${node}|${chain}`;
  if (!client || key !== clientKey) {
    client = new LightClient(l1, node, chain);
    clientKey = key;
  }
  return { client, l1, node, chain };
}

function detailRows(b) {
  const t = b.trust;
  const rows = [
    ["finality", `${t.finality} (${t.finality === "soft" ? "quorum-signed head" : "L1-finalised anchor"})`],
    ["L2 block", t.l2Block],
    ["state root", t.stateRoot],
    ["L1 height", `${t.l1Height} (tip ${t.l1Tip})`],
  ];
  if (t.finality === "soft") {
    rows.push(["block hash", t.blockHash]);
    rows.push(["quorum", `${t.signers} signatures, weight ${t.signedWeight} of ${t.totalWeight} (threshold ${t.thresholdPct}%)`]);
  } else {
    rows.push(["anchor", t.anchorIndex === null ? "genesis root" : `#${t.anchorIndex}`]);
  }
  rows.push(["proof", `${b.proof.inclusion ? "inclusion" : "exclusion"}, ${b.proof.siblings} siblings, ${b.proof.bytes} bytes`]);
  rows.push(["nonce", b.nonce]);
  rows.push(["node", b.node]);
  return rows;
}

async function verifyBalance() {
  const status = $("balance-status");
  const address = $("address").value.trim();
  status.dataset.state = "working";
  status.textContent = "verifying…";
  $("balance-reason").textContent = "";
  $("balance-details").innerHTML = "";
  $("balance-value").textContent = "";
  try {
    const { client, node } = await getClient();
    const start = performance.now();
    const soft = await client.balance(address, "soft");
    const t = performance.now();
    metrics["balance (soft, with network) ms"] = t - start;
    if (metrics["first verified balance after load ms"] === undefined) {
      metrics["first verified balance after load ms"] = t; // since navigation start
    }
    status.dataset.state = "verified";
    status.textContent = `verified (${soft.trust.finality})`;
    $("balance-value").textContent = `${(soft.balance / COIN).toFixed(7)} CAS`;
    let rows = detailRows(soft);
    try {
      const hard = await client.balance(address, "hard");
      rows.push(["hard balance", `${(hard.balance / COIN).toFixed(7)} CAS at L2 block ${hard.trust.l2Block}, anchor ${hard.trust.anchorIndex ?? "genesis"}, L1 height ${hard.trust.l1Height}`]);
    } catch (e) {
      rows.push(["hard balance", `${e.kind === "rejected" ? "REJECTED" : "unavailable"}: ${e.message}`]);
      if (e.kind === "rejected") throw e;
    }
    $("balance-details").innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join("");
    measureProof(node, address).catch((e) => { metrics["measurement error"] = e.message; showMetrics(); });
  } catch (e) {
    status.dataset.state = e.kind === "rejected" ? "rejected" : "failed";
    status.textContent = e.kind === "rejected" ? "rejected" : `failed (${e.kind || "error"})`;
    $("balance-reason").textContent = e.message;
  }
  showMetrics();
}

// Time the bare proof check (no network) over the evidence the node serves.
async function measureProof(node, address) {
  const a = await rpc(node, "l2_getproof", [address, "latest"]);
  const n = 200;
  const s = performance.now();
  for (let i = 0; i < n; i++) verifyAccountProof(address, a.proof, a.stateRoot);
  metrics["account proof verification ms"] = (performance.now() - s) / n;
  // And the soft check of the head the proof is at: its quorum against L1's registry.
  const l1 = $("l1").value.trim();
  const registry = await rpc(l1, "l2_getsequencers", [Number($("chain").value)]);
  const f = a.finality;
  const m = 50;
  const s2 = performance.now();
  for (let i = 0; i < m; i++) verifyQuorum(f.header, f.signatures, registry, 67);
  metrics[`quorum verification ms (${f.signatures.length} signatures)`] = (performance.now() - s2) / m;
  showMetrics();
}

async function measureSample(l1, node, chain, batch) {
  const [anchor] = await rpc(l1, "l2_getanchors", [chain, batch, 1]);
  const share = await rpc(node, "l2_getshare", [batch, 0, 0, "row"]);
  const n = 200;
  const s = performance.now();
  for (let i = 0; i < n; i++) verifySample(anchor.commitment, anchor.dataRoot, share.sample);
  metrics["sample verification ms (with commitment check)"] = (performance.now() - s) / n;
  showMetrics();
}

function batchItem(batch) {
  const li = document.createElement("li");
  li.dataset.batch = batch;
  li.dataset.state = "sampling";
  li.innerHTML = `batch ${batch}: <progress max="1" value="0"></progress> <span>sampling…</span>`;
  $("batches").prepend(li);
  while ($("batches").children.length > 20) $("batches").lastChild.remove();
  return li;
}

let measuredSample = false;
async function followOnce() {
  try {
    const { client, l1, node, chain } = await getClient();
    const up = await client.poll();
    $("l1-status").textContent = `L1 tip ${up.l1Tip} · ${up.anchors} batches anchored · finalised to L2 block ${up.finalizedL2Block} · ${up.sequencers} sequencers, weight ${up.totalWeight}`;
    const confidence = Number($("confidence").value);
    for (const batch of up.newBatches) {
      const li = batchItem(batch);
      const bar = li.querySelector("progress");
      const text = li.querySelector("span");
      try {
        const r = await client.sample(batch, confidence, (p) => {
          bar.value = p.confidence;
          text.textContent = `${p.verified}/${p.needed} samples, confidence ${p.confidence.toFixed(6)}`;
        });
        li.dataset.state = "available";
        bar.value = r.confidence;
        text.textContent = `available: ${r.verified} samples of a ${r.width}×${r.width} square, confidence ${r.confidence.toFixed(6)} (L2 blocks ${r.startBlock}–${r.endBlock})`;
        if (!measuredSample) {
          measuredSample = true;
          measureSample(l1, node, chain, batch).catch(() => {});
        }
      } catch (e) {
        li.dataset.state = "failed";
        text.textContent = `FAILED (${e.kind || "error"}): ${e.message}`;
      }
    }
    $("follow-status").textContent = "";
  } catch (e) {
    $("follow-status").textContent = `(${e.message})`;
  }
}

async function follow() {
  for (;;) {
    await followOnce();
    await new Promise((r) => setTimeout(r, 1500));
  }
}

async function main() {
  $("l1").value = q.get("l1") || "http://127.0.0.1:18545/";
  $("node").value = q.get("node") || "";
  $("chain").value = q.get("chain") || "1";
  $("confidence").value = q.get("confidence") || "0.9999";
  $("address").value = q.get("address") || "";
  await init();
  metrics["wasm ready after load ms"] = performance.now();
  $("balance-form").addEventListener("submit", (e) => { e.preventDefault(); verifyBalance(); });
  if ($("address").value) verifyBalance();
  follow();
}

main();
