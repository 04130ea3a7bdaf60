// Compile the test contracts once (solc 0.8.28, EVM cancun) into build.json:
//   cd /tmp/solc && npm install solc@0.8.28 && node /path/to/compile.js
// Tests read build.json; they never run solc.
const fs = require('fs');
const path = require('path');
const solc = require(process.env.SOLC_PATH || 'solc');
const dir = __dirname;
const sources = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[f] = { content: fs.readFileSync(path.join(dir, f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p) => ({ contents: fs.readFileSync(path.join(dir, p), 'utf8') }) }));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join('\n'));
  process.exit(1);
}
const build = { compiler: solc.version(), evmVersion: 'cancun', contracts: {} };
for (const file of Object.keys(out.contracts).sort()) {
  for (const name of Object.keys(out.contracts[file]).sort()) {
    const c = out.contracts[file][name];
    build.contracts[name] = {
      source: file,
      abi: c.abi,
      bytecode: c.evm.bytecode.object,
      deployedBytecode: c.evm.deployedBytecode.object,
    };
  }
}
fs.writeFileSync(path.join(dir, 'build.json'), JSON.stringify(build, null, 1) + '\n');
console.log('compiled', Object.keys(build.contracts).join(', '), 'with', build.compiler);
