#!/bin/bash
# Peak and settled resident memory of `streamlearn run` working through a backlog.
#
#   scripts/daemon-rss.sh [BINARY] [mlp|logistic] [ROWS]
#
# Starts the embedded broker, loads ROWS generated records (default 300,000) into 12
# partitions, runs the daemon with the default configuration of MODEL (default mlp) until it
# logs all of them trained, samples VmRSS every 0.2 s meanwhile, and prints the largest sample,
# VmHWM and the RSS once caught up. BINARY defaults to .build/release/streamlearn.
# KAFKA_PROPERTIES adds to the "kafka" section, to try other bounds:
#   KAFKA_PROPERTIES='"queued.max.messages.kbytes": "2048"' scripts/daemon-rss.sh
set -euo pipefail

repository=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$repository/.build/release/streamlearn}
model=${2:-mlp}
rows=${3:-300000}
work=$(mktemp -d /tmp/streamlearn-rss.XXXXXX)
trap 'kill "${daemon:-}" "${broker:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$binary" broker --topic susy-train:12 --topic streamlearn.metrics:1 --bootstrap-file "$work/boot" \
    >/dev/null 2>"$work/broker.err" &
broker=$!
for _ in $(seq 100); do [ -s "$work/boot" ] && break; sleep 0.1; done
bootstrap=$(cat "$work/boot")
"$binary" generate --rows "$rows" >"$work/data.csv"
"$binary" load --file "$work/data.csv" --topic susy-train -b "$bootstrap" >/dev/null

if [ "$model" = mlp ]; then
    model_json='{"type": "mlp"}'
else
    model_json='{"type": "logistic", "optimizer": "sgd", "learning_rate": 0.05}'
fi
cat >"$work/config.json" <<JSON
{"kafka": {"bootstrap.servers": "$bootstrap"${KAFKA_PROPERTIES:+, $KAFKA_PROPERTIES}},
 "training": {"topics": ["susy-train"], "group_id": "rss", "format": {"type": "csv", "label": "key", "features": 18}},
 "model": $model_json,
 "checkpoint": {"directory": "$work/checkpoints", "interval_seconds": 10},
 "metrics": {"topic": "streamlearn.metrics", "interval_seconds": 2}, "log_level": "info"}
JSON

"$binary" run --config "$work/config.json" 2>"$work/run.err" &
daemon=$!
largest=0
deadline=$((SECONDS + 120))
while kill -0 "$daemon" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$largest" ] && largest=$rss
    grep -q "trained $rows records" "$work/run.err" && break
    sleep 0.2
done
grep -q "trained $rows records" "$work/run.err" || { tail -n 20 "$work/run.err" >&2; echo "the daemon did not finish" >&2; exit 1; }
echo "$model, $rows records: largest sample $((largest / 1024)) MiB," \
    "$(awk '/^VmHWM/ {printf "VmHWM %.1f MiB", $2 / 1024}' "/proc/$daemon/status"), caught up:" \
    "$(awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$daemon/status")"
