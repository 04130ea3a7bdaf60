#!/usr/bin/env bash
# The example network as separate processes (examples/network/README.md): the devnet L1, the
# one-time set-up, four sequencers, a follower and a challenger, each its own `casl2`
# process, data under ./net. Ctrl-C stops them all; running it again resumes on the same data.
set -euo pipefail
cd "$(dirname "$0")"
CASL2=${CASL2:-casl2}
export CASL2_WALLET_DIR=${CASL2_WALLET_DIR:-$PWD/net/wallet}
mkdir -p net/logs
pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping ${#pids[@]} processes"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

start() { # name, then the casl2 arguments; output in net/logs/NAME.log
  local name=$1
  shift
  "$CASL2" "$@" >"net/logs/$name.log" 2>&1 &
  pids+=($!)
  echo "started $name (pid $!): casl2 $*"
}

start l1 l1 devnet --port 18545 --accounts 10 --block-interval-ms 500 --data-dir net/l1
CASL2="$CASL2" ./setup.sh
for i in 1 2 3 4; do
  start "seq$i" node --config "seq$i.toml"
done
start follower node --config follower.toml
# The challenger: dev key 8 (a regtest key everyone knows).
start challenger challenger run --key 24dd17b93c487f892c1589954d2c07275cf101647f018781dd4a7ed78e1c794a \
  --chain-id 1 --l1 http://127.0.0.1:18545/ --data-dir net/challenger --metrics 127.0.0.1:18650

echo
echo "L1        http://127.0.0.1:18545/"
echo "nodes     http://127.0.0.1:18641/ .. http://127.0.0.1:18644/, follower http://127.0.0.1:18649/"
echo "challenger status on http://127.0.0.1:18650/status; logs in $PWD/net/logs"
echo "try: casl2 deposit 20 --key <dev key 6> --node http://127.0.0.1:18649/"
# Until Ctrl-C (a process that stops, e.g. one you kill to watch the others go on, does not
# stop the rest; start it again by hand with the command printed above).
wait
