#!/usr/bin/env bash
# Build the light client's wasm package into wasm/pkg (the browser page wasm/www needs it; `casl2
# devnet` serves both). Installs, only when missing, the wasm32 target and the wasm-bindgen-cli
# that matches the wasm-bindgen in Cargo.lock (its first install takes 10-17 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
want_wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want_wb" ]; then
  echo "installing wasm-bindgen-cli $want_wb (once; 10-17 minutes)" >&2
  cargo install wasm-bindgen-cli --version "$want_wb"
fi
wasm-bindgen --version
cargo build -p casl2-wasm --target wasm32-unknown-unknown --profile wasm
rm -rf wasm/pkg
wasm-bindgen --target web --out-dir wasm/pkg target/wasm32-unknown-unknown/wasm/casl2_wasm.wasm
printf 'wasm package: wasm/pkg, %s bytes, %s gzipped\n' \
  "$(wc -c < wasm/pkg/casl2_wasm_bg.wasm)" "$(gzip -9c wasm/pkg/casl2_wasm_bg.wasm | wc -c)"
