// The wasm light client in Node: a correct balance verifies; a node that tampers with the
// balance is rejected; a node that tampers with a share fails sampling.
// Usage: node tests/node.mjs <l1> <node> <balance-liar> <share-liar> <address>
import { readFile } from "node:fs/promises";
import init, { LightClient, verifyAccountProof } from "../pkg/casl2_wasm.js";

const [l1, node, balanceLiar, shareLiar, address] = process.argv.slice(2);
await init({ module_or_path: await readFile(new URL("../pkg/casl2_wasm_bg.wasm", import.meta.url)) });
const fail = (m) => { console.error(`node test: ${m}`); process.exit(1); };
const out = {};

const honest = new LightClient(l1, node, 1);
const b = await honest.balance(address, "soft");
if (!(b.balance > 0) || b.trust.finality !== "soft") fail(`soft balance ${JSON.stringify(b)}`);
out.balance = b.balance;
const h = await honest.head();
if (h.trust.signedWeight * 100 < h.trust.totalWeight * h.trust.thresholdPct) fail("head quorum");
const up = await honest.poll();
const r = await honest.sample(up.newBatches[0], 0.9999);
if (r.confidence < 0.9999 || r.verified !== r.needed) fail(`sample ${JSON.stringify(r)}`);
out.sampleConfidence = r.confidence;

try {
  await new LightClient(l1, balanceLiar, 1).balance(address, "soft");
  fail("a tampered balance verified");
} catch (e) {
  if (e.kind !== "rejected" || !e.message.includes("does not match its proof")) fail(`balance liar: ${e.kind}: ${e.message}`);
  out.balanceLiar = e.message;
}
try {
  await new LightClient(l1, shareLiar, 1).sample(up.newBatches[0], 0.99);
  fail("a tampered share passed sampling");
} catch (e) {
  if (e.kind !== "unavailable") fail(`share liar: ${e.kind}: ${e.message}`);
  out.shareLiar = e.message;
}
try {
  await honest.balance("0x1234", "soft");
  fail("a bad address was accepted");
} catch (e) {
  if (e.kind !== "invalid") fail(`bad address: ${e.kind}: ${e.message}`);
}
const proof = await (await fetch(node, {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "l2_getproof", params: [address, "latest"] }),
})).json();
const n = 500;
const s = performance.now();
for (let i = 0; i < n; i++) verifyAccountProof(address, proof.result.proof, proof.result.stateRoot);
out.proofVerifyMs = (performance.now() - s) / n;
console.log(JSON.stringify(out));
