#!/usr/bin/env bash
# One-time set-up of the example network on a running devnet L1 (examples/network/README.md):
# register chain 1, score sequencers 1..4 and announce them at the endpoints of seq1..4.toml.
# Safe to run again: what is already done is skipped.
set -euo pipefail
CASL2=${CASL2:-casl2}
L1=${L1:-http://127.0.0.1:18545/}
# Regtest dev keys of `casl2 l1 devnet` (everyone knows them; never on a real network).
AUTHORITY=e55233f0fbb0d69f02a1c3d770749a2140ec17549320dbac44f034694c9ecb1a
DEPLOYER=64f24e97346c2db201b8294a04ee9b1c1d1f530b619fe4e46c4dde0a41c23976
SEQ_KEYS=(
  edfd545385b4911d281681b755cb22e4bd6bffb23ea2ce16c5259ec2c4cc29ad
  c4e7bd777d79c1ae2af9b7a20eefdc9fe39921e36d0ac55c0879472800e4a584
  89730d5785b0a09a2e885ecd91e27061e8a42ea9c4e7b5a299ec1e501b6ef7e5
  81a8aced78caa3058bbfb1587bd61197327107f7aa092f554650b73763473628
)

for _ in $(seq 1 60); do
  "$CASL2" chain list --l1 "$L1" >/dev/null 2>&1 && break
  sleep 0.5
done
if ! "$CASL2" chain info --chain 1 --l1 "$L1" >/dev/null 2>&1; then
  "$CASL2" chain register --name example --key "$DEPLOYER" --l1 "$L1"
fi
for i in 1 2 3 4; do
  key=${SEQ_KEYS[$((i - 1))]}
  if "$CASL2" sequencer status --chain 1 --key "$key" --l1 "$L1" >/dev/null 2>&1; then
    echo "sequencer $i: already announced"
    continue
  fi
  addr=$("$CASL2" wallet address "$key")
  "$CASL2" l1 hat set "$addr" 80 --key "$AUTHORITY" --l1 "$L1"
  "$CASL2" sequencer announce --chain 1 --stake 100 --endpoint "http://127.0.0.1:1864$i/" \
    --key "$key" --l1 "$L1"
done
