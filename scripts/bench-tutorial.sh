#!/bin/sh
# Runs the TensorFlow-IO Kafka tutorial's flow with streamlearn on an embedded broker and
# prints what each step took: records/s of `train` and `evaluate` and their peak resident memory.
#
#   scripts/bench-tutorial.sh            # release build in /tmp/build-tutorial, 100,000 rows
#   ROWS=20000 EPOCHS=2 scripts/bench-tutorial.sh
#
# The flow: a broker with susy-train (1 partition) and susy-test (2 partitions); ROWS generated
# rows loaded 60/40; train 10 epochs, batch 64, shuffle buffer 64, the default MLP; evaluate as
# group testcg; lag; a second evaluate of the same group. Peak RSS comes from /usr/bin/time -v.
# The figures go to standard output; the commands' own output is kept in $WORK (printed at the end).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-/tmp/build-tutorial}
ROWS=${ROWS:-100000}
EPOCHS=${EPOCHS:-10}
WORK=$(mktemp -d /tmp/bench-tutorial.XXXXXX)
BROKER_PID=

cleanup() {
    if [ -n "$BROKER_PID" ]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

# Prints the peak resident set size in MiB from a /usr/bin/time -v report.
peak_mib() {
    awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"
}

# Prints user plus system CPU seconds from a /usr/bin/time -v report (all threads).
cpu_seconds() {
    awk -F': ' '/User time|System time/ { total += $2 } END { printf "%.2f", total }' "$1"
}

echo "== build (release, scratch $SCRATCH)"
swift build -c release --static-swift-stdlib --package-path "$ROOT" --scratch-path "$SCRATCH" >"$WORK/build.log" 2>&1 || {
    cat "$WORK/build.log"
    exit 1
}
BIN="$SCRATCH/release/streamlearn"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
# Other work on the machine slows every figure below; say how much there was.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== broker"
"$BIN" broker --topic susy-train:1 --topic susy-test:2 --bootstrap-file "$WORK/bootstrap" \
    >"$WORK/broker.out" 2>"$WORK/broker.err" &
BROKER_PID=$!
tries=0
until [ -s "$WORK/bootstrap" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "the broker did not start:" >&2
        cat "$WORK/broker.err" >&2
        exit 1
    fi
    sleep 0.1
done
BOOTSTRAP=$(cat "$WORK/bootstrap")
echo "bootstrap: $BOOTSTRAP"

echo "== generate $ROWS rows and load them 60/40"
"$BIN" generate --rows "$ROWS" --seed 42 >"$WORK/susy.csv"
"$BIN" load --file "$WORK/susy.csv" --topic susy-train --test-topic susy-test --test-fraction 0.4 \
    -b "$BOOTSTRAP" | tee "$WORK/load.out"

echo "== train: $EPOCHS epochs, batch 64, shuffle buffer 64"
/usr/bin/time -v -o "$WORK/train.time" "$BIN" train --topic susy-train --partition 0 --offset 0 \
    --epochs "$EPOCHS" --batch-size 64 --shuffle-buffer 64 --out "$WORK/susy.slck" -b "$BOOTSTRAP" \
    | tee "$WORK/train.out"

echo "== evaluate as group testcg"
/usr/bin/time -v -o "$WORK/evaluate.time" "$BIN" evaluate --model "$WORK/susy.slck" --topic susy-test \
    --group testcg -b "$BOOTSTRAP" | tee "$WORK/evaluate.out"

echo "== lag of testcg"
"$BIN" lag --group testcg -b "$BOOTSTRAP" | tee "$WORK/lag.out"

echo "== evaluate again as testcg"
"$BIN" evaluate --model "$WORK/susy.slck" --topic susy-test --group testcg -b "$BOOTSTRAP" \
    | tee "$WORK/evaluate2.out"

# "trained 600000 records in 9.80 s (61224 records/s); ..."
train_rate=$(sed -n 's/^trained [0-9]* records in [0-9.]* s (\([0-9]*\) records\/s).*/\1/p' "$WORK/train.out")
# "40000 records in 3.52 s: 0.15 s reading and scoring (266667 records/s), 3.02 s joining ... (11364 records/s overall)"
evaluate_rate=$(sed -n 's/.*reading and scoring (\([0-9]*\) records\/s).*/\1/p' "$WORK/evaluate.out")
evaluate_overall=$(sed -n 's/.*(\([0-9]*\) records\/s overall).*/\1/p' "$WORK/evaluate.out")

echo "== summary"
echo "train:    $train_rate records/s over $EPOCHS epochs, peak RSS $(peak_mib "$WORK/train.time") MiB," \
    "$(cpu_seconds "$WORK/train.time") CPU s"
echo "evaluate: $evaluate_rate records/s while reading, $evaluate_overall records/s with the group join," \
    "peak RSS $(peak_mib "$WORK/evaluate.time") MiB, $(cpu_seconds "$WORK/evaluate.time") CPU s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "outputs:  $WORK"
