#!/usr/bin/env bash
# test_compose.sh -- docker-compose.yml, conf/prometheus.yml and the Grafana
# dashboard are consistent with the daemon (no Docker engine needed):
#   1. tools/check-compose checks the files statically and that the compose
#      command line passes `recstream config`;
#   2. a real `recstream run` (on librdkafka's in-process mock cluster, via
#      kafka.test.mock.num.brokers passthrough) serves /metrics and /readyz;
#      the scrape is handed to tools/check-compose, which fails if the
#      dashboard queries a metric or label the daemon does not export.
# Env (set by ctest): RS_BIN (the recstream binary), RS_SRC (the repository).
set -euo pipefail

: "${RS_BIN:?}" "${RS_SRC:?}"
. "$(dirname "${BASH_SOURCE[0]}")/daemon_util.sh" compose

python3 "$RS_SRC/tools/check-compose" --bin "$RS_BIN"

"$RS_BIN" run -X kafka.test.mock.num.brokers=1 -X "state.dir=$tmp/state" \
    -X http.host=127.0.0.1 -X "http.port=$port" --idle-exit-ms 60000 >"$tmp/run.log" 2>&1 &
pid=$!

du_wait_ready
curl -fsS -m 5 "http://127.0.0.1:$port/metrics" >"$tmp/metrics.txt"
echo "test_compose: scraped $(grep -c '^recstream_' "$tmp/metrics.txt") samples"
python3 "$RS_SRC/tools/check-compose" --bin "$RS_BIN" --metrics "$tmp/metrics.txt"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
if [[ $rc != 0 ]]; then
    echo "test_compose: the daemon exited $rc on SIGTERM:" >&2
    cat "$tmp/run.log" >&2
    exit 1
fi
echo "test_compose: PASS"
