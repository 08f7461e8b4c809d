#!/usr/bin/env bash
# test_reload.sh -- SIGHUP reloads the configuration of a running daemon
# (issue 7, F17), observed from outside through GET /v1/config, the log and
# /metrics, on librdkafka's in-process mock cluster (kafka.test.mock.*):
#   1. live keys in the file change at once (alert.rate.z, weight.view);
#   2. a changed restart-only key (state.dir) is logged and kept;
#   3. -X overrides are re-applied (the file's rec.min.interval.ms loses);
#   4. a file that no longer loads changes nothing, is logged with FILE:LINE
#      and the daemon stays ready;
#   5. SIGTERM still exits 0.
# Env (set by ctest): RS_BIN.
set -euo pipefail

: "${RS_BIN:?}"
. "$(dirname "${BASH_SOURCE[0]}")/daemon_util.sh" reload
fail() {
    echo "test_reload: FAIL: $*" >&2
    echo "--- daemon log" >&2
    cat "$tmp/run.log" >&2
    exit 1
}

conf=$tmp/recstream.conf
write_conf() { # alert.rate.z weight.view state.dir [extra line]
    printf 'kafka.test.mock.num.brokers = 1\nhttp.host = 127.0.0.1\nhttp.port = %s\n' "$port" >"$conf"
    printf 'alert.rate.z = %s\nweight.view = %s\nstate.dir = %s\nrec.min.interval.ms = 100\n' \
        "$1" "$2" "$3" >>"$conf"
    [[ $# -lt 4 ]] || printf '%s\n' "$4" >>"$conf"
}
get() { curl -fsS -m 5 "http://127.0.0.1:$port$1"; }
value() { get /v1/config | sed -n "s/^$1 = //p"; }
wait_log() { # pattern count
    for _ in $(seq 100); do
        [[ $(grep -c -- "$1" "$tmp/run.log" || true) -ge $2 ]] && return 0
        sleep 0.1
    done
    fail "no log line matching '$1' (x$2)"
}

write_conf 10 1 "$tmp/state"
"$RS_BIN" run -c "$conf" -X rec.min.interval.ms=5 >"$tmp/run.log" 2>&1 &
pid=$!
du_wait_ready
[[ $(value alert.rate.z) == 10 ]] || fail "alert.rate.z at start: $(value alert.rate.z)"
[[ $(value rec.min.interval.ms) == 5 ]] || fail "-X rec.min.interval.ms at start"

# 1-3: live keys change, state.dir is kept, -X wins again
write_conf 12.5 3 "$tmp/other"
kill -HUP "$pid"
wait_log "config: reloaded: 2 key(s) applied" 1
[[ $(value alert.rate.z) == 12.5 ]] || fail "alert.rate.z after reload: $(value alert.rate.z)"
[[ $(value weight.view) == 3 ]] || fail "weight.view after reload: $(value weight.view)"
[[ $(value state.dir) == "$tmp/state" ]] || fail "state.dir changed live: $(value state.dir)"
[[ $(value rec.min.interval.ms) == 5 ]] || fail "-X rec.min.interval.ms lost on reload"
grep -q "alert.rate.z: 10 -> 12.5" "$tmp/run.log" || fail "no 'alert.rate.z: 10 -> 12.5'"
grep -q "state.dir: $tmp/state -> $tmp/other needs a restart (kept $tmp/state)" "$tmp/run.log" ||
    fail "state.dir change not reported"

# 4: a broken file changes nothing
write_conf 20 7 "$tmp/state" "no.such.key = 1"
kill -HUP "$pid"
wait_log "config: reload failed, running configuration kept: $conf:8: unknown key \"no.such.key\"" 1
[[ $(value alert.rate.z) == 12.5 ]] || fail "a broken file changed alert.rate.z"
[[ $(get /readyz) == ready ]] || fail "not ready after a refused reload"
m=$(get /metrics)
grep -q '^recstream_config_reloads_total 1$' <<<"$m" || fail "config_reloads_total is not 1"
grep -q '^recstream_config_reload_errors_total 1$' <<<"$m" || fail "config_reload_errors_total is not 1"

# 5: clean exit
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[[ $rc == 0 ]] || fail "exit $rc on SIGTERM"
echo "test_reload: PASS"
