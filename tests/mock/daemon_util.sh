# daemon_util.sh -- sourced by the shell tests that run `recstream run` on
# librdkafka's in-process mock cluster (test_compose.sh, test_reload.sh):
# a scratch dir removed on exit with the daemon stopped, a free loopback
# port, and a wait for /readyz. Sets: tmp, port; the test sets pid.
# Usage: . "$(dirname "${BASH_SOURCE[0]}")/daemon_util.sh" NAME

du_name=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-$du_name.XXXXXX")
pid=
du_cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap du_cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Waits up to 30 s for 200 on /readyz; on failure prints the daemon's log
# ($tmp/run.log) and exits 1.
du_wait_ready() {
    for _ in $(seq 300); do
        curl -fsS -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "test_$du_name: the daemon never became ready on port $port:" >&2
    cat "$tmp/run.log" >&2
    exit 1
}
