#!/bin/bash
# The checks of Tests/system/run.sh, run inside the container as root under a real systemd.
# Each check prints "ok - ..." or "not ok - ..."; the last line counts them.
set -uo pipefail

bin=/usr/local/bin/streamlearn
state=/var/lib/private/streamlearn
passed=0
failed=0

ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { # DESCRIPTION COMMAND...
    local description=$1
    shift
    if "$@"; then ok "$description"; else not_ok "$description"; fi
}

# Waits until COMMAND succeeds, polling every 0.2 s, for at most SECONDS.
wait_for() { # SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

property() { systemctl show -P "$2" "$1"; }

# A number field of `streamlearn inspect` (the first one with that name).
inspect_field() { # DIRECTORY FIELD
    "$bin" inspect "$1" 2>/dev/null | tr -d ' \n' | grep -oE "\"$2\":-?[0-9]+" | head -n 1 | cut -d: -f2
}

# Sum of the next offsets in the newest checkpoint of DIRECTORY.
checkpoint_offsets() {
    "$bin" inspect "$1" 2>/dev/null | tr -d ' \n' | grep -oE '"next_offset":[0-9]+' | cut -d: -f2 \
        | awk '{ s += $1 } END { print s + 0 }'
}

records_trained_is() { [ "$(inspect_field "$1" records)" = "$2" ] && [ "$(checkpoint_offsets "$1")" = "$2" ]; }

log_end() { # TOPIC
    "$bin" topics describe "$1" -b "$broker" 2>/dev/null | awk -v t="$1" '$1 == t { s += $NF } END { print s + 0 }'
}

load_rows() { # ROWS SEED
    "$bin" generate --rows "$1" --seed "$2" | "$bin" load --file - --topic susy-train -b "$broker" >/dev/null
}

echo "== install"
/payload/deploy/install.sh --binary /payload/streamlearn >/dev/null || { echo "not ok - install.sh"; exit 1; }

echo "== broker and data"
systemd-run --quiet --unit=streamlearn-broker --property=Type=exec \
    "$bin" broker --topic susy-train:4 --topic streamlearn.metrics:1 --bootstrap-file /run/broker-address
wait_for 20 test -s /run/broker-address || { echo "not ok - broker did not start"; exit 1; }
broker=$(cat /run/broker-address)
load_rows 20000 1
total=20000

# The daemon's config: the example with this broker, a small model and short intervals.
write_config() { # FILE GROUP CHECKPOINT_DIR INSTANCE
    cat >"$1" <<JSON
{
  "kafka": { "bootstrap.servers": "$broker" },
  "training": { "topics": ["susy-train"], "group_id": "$2",
                "format": { "type": "csv", "label": "key", "features": 18 },
                "poll_max_records": 1024, "poll_timeout_ms": 500, "batch_size": 32 },
  "model": { "type": "mlp", "hidden": [32, 16], "dropout": [0.1, 0.1] },
  "checkpoint": { "directory": "$3", "interval_seconds": 1, "keep": 3 },
  "metrics": { "topic": "streamlearn.metrics", "interval_seconds": 1 },
  "instance": "$4",
  "log_level": "info"
}
JSON
    chmod 0640 "$1"
}
write_config /etc/streamlearn/streamlearn.json streamlearn /var/lib/streamlearn system-test

# Test-only settings go in a runtime drop-in; the unit file itself stays as shipped.
mkdir -p /run/systemd/system/streamlearn.service.d
cat >/run/systemd/system/streamlearn.service.d/test.conf <<'UNIT'
[Service]
WatchdogSec=4
RestartSec=1
LimitCORE=0
UNIT
systemctl daemon-reload

echo "== 1: start returns after READY=1"
if systemctl start streamlearn; then
    check "unit is active/running right after start" \
        test "$(property streamlearn ActiveState)/$(property streamlearn SubState)" = active/running
    status=$(property streamlearn StatusText)
    check "STATUS text is shown by systemd ('$status')" test -n "$status"
    pid=$(property streamlearn MainPID)
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
    check "runs as a dynamic user (uid $uid)" test "$uid" -ge 61184
    check "StateDirectory is the checkpoint directory and holds checkpoints" \
        wait_for 20 bash -c "ls $state/*.slck >/dev/null 2>&1"
    check "/etc is read-only for the daemon" \
        bash -c "! nsenter -t $pid -m touch /etc/streamlearn-write-test 2>/dev/null"
else
    not_ok "systemctl start streamlearn: $(journalctl -u streamlearn -n 20 --no-pager)"
fi

echo "== 2: training, clean stop, resume"
check "metrics appear on the metrics topic" wait_for 30 bash -c "[ \$($(declare -f log_end); broker=$broker bin=$bin log_end streamlearn.metrics) -gt 0 ]"
check "every loaded record is trained and checkpointed" wait_for 60 records_trained_is "$state" "$total"
systemctl stop streamlearn
check "stop is a clean exit (Result=$(property streamlearn Result), status $(property streamlearn ExecMainStatus))" \
    test "$(property streamlearn Result)" = success -a "$(property streamlearn ExecMainStatus)" = 0
check "the final checkpoint holds every record once" records_trained_is "$state" "$total"
load_rows 5000 2
total=$((total + 5000))
systemctl start streamlearn
check "a restart resumes from the checkpoint: $total records, none twice" \
    wait_for 60 records_trained_is "$state" "$total"

echo "== 3: SIGKILL, automatic restart, resume"
restarts=$(property streamlearn NRestarts)
systemctl kill -s KILL streamlearn
check "systemd restarts the daemon after SIGKILL" \
    wait_for 30 bash -c "[ \$(systemctl show -P NRestarts streamlearn) -gt $restarts ] && systemctl is-active -q streamlearn"
load_rows 5000 3
total=$((total + 5000))
check "after the crash every record is trained once: $total" wait_for 60 records_trained_is "$state" "$total"

echo "== 4: a frozen daemon is killed by the watchdog"
restarts=$(property streamlearn NRestarts)
systemctl kill -s STOP streamlearn
check "the watchdog kills and systemd restarts it (NRestarts grows)" \
    wait_for 40 bash -c "[ \$(systemctl show -P NRestarts streamlearn) -gt $restarts ] && systemctl is-active -q streamlearn"
check "the journal names the watchdog" \
    bash -c "journalctl -u streamlearn --no-pager | grep -qi watchdog"
check "still every record once after the watchdog restart: $total" wait_for 60 records_trained_is "$state" "$total"

echo "== 5: a broken config fails with 78 and is not restarted"
systemctl stop streamlearn
cp /etc/streamlearn/streamlearn.json /run/good.json
echo '{ "kafka": { "bootstrap.servers": "x" }, "training": { "batch_size": 0 } }' \
    >/etc/streamlearn/streamlearn.json
systemctl reset-failed streamlearn 2>/dev/null
systemctl start streamlearn 2>/dev/null
check "the unit fails with exit status 78" \
    wait_for 20 bash -c "[ \$(systemctl show -P ExecMainStatus streamlearn) = 78 ] && systemctl is-failed -q streamlearn"
# RestartSec is 1 s: three of them pass with no restart.
sleep 3
check "systemd does not restart it (NRestarts $(property streamlearn NRestarts))" \
    bash -c "systemctl is-failed -q streamlearn && [ \$(systemctl show -P NRestarts streamlearn) = 0 ]"
cp /run/good.json /etc/streamlearn/streamlearn.json

echo "== 6: two template instances side by side"
write_config /etc/streamlearn/alpha.json alpha /var/lib/streamlearn-alpha alpha
write_config /etc/streamlearn/beta.json beta /var/lib/streamlearn-beta beta
if systemctl start streamlearn@alpha streamlearn@beta; then
    check "both instances are active" systemctl is-active -q streamlearn@alpha streamlearn@beta
    check "instance alpha trains every record into its own state directory" \
        wait_for 60 records_trained_is /var/lib/private/streamlearn-alpha "$total"
    check "instance beta trains every record into its own state directory" \
        wait_for 60 records_trained_is /var/lib/private/streamlearn-beta "$total"
    check "the two run as different users" test "$(awk '/^Uid:/ { print $2 }' /proc/"$(property streamlearn@alpha MainPID)"/status)" != \
        "$(awk '/^Uid:/ { print $2 }' /proc/"$(property streamlearn@beta MainPID)"/status)"
else
    not_ok "systemctl start streamlearn@alpha streamlearn@beta: $(journalctl -u 'streamlearn@*' -n 20 --no-pager)"
fi
systemctl stop streamlearn@alpha streamlearn@beta

if [ "$failed" -gt 0 ]; then
    echo "== journal of streamlearn"
    journalctl -u streamlearn -u 'streamlearn@*' -n 60 --no-pager
fi
echo "system: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
