#!/usr/bin/env bash
# Runs each libFuzzer target (built by `make fuzz-build` in build-fuzz/) for SECONDS, starting from
# the committed seed corpus (tests/fuzz/corpus/<target>/, read only) and keeping what it finds in
# build-fuzz/corpus/<target>/. Prints executions per target and writes build-fuzz/fuzz_report.json;
# a crash leaves its input in build-fuzz/crashes/ and fails the script. With FUZZ_RUNS=N set, a
# target also stops after N executions (whichever comes first).
# usage: [FUZZ_RUNS=N] scripts/fuzz.sh SECONDS [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"; shift || true
targets=("$@")
((${#targets[@]})) || targets=(safetensors npy golden config kwargs http feedback_store buffer)
mkdir -p build-fuzz/logs build-fuzz/crashes
failed=0
report="{"
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t"
  dict=(); [[ -f "tests/fuzz/dict/$t.dict" ]] && dict=(-dict="tests/fuzz/dict/$t.dict")
  runs=(); [[ -n "${FUZZ_RUNS:-}" ]] && runs=(-runs="$FUZZ_RUNS")
  start=$SECONDS
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp" "build-fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="build-fuzz/crashes/$t-" "${dict[@]}" "${runs[@]}" \
    "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "build-fuzz/logs/$t.log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/logs/$t.log" | grep -o '[0-9]*$' || echo 0)
  if ((rc != 0)); then
    failed=1
    echo "fuzz $t: FAILED after ${execs:-?} executions (log: build-fuzz/logs/$t.log)"
    grep -E "ERROR|not an rlforge::Error|a 5xx|SUMMARY|Test unit written" "build-fuzz/logs/$t.log" | head -8
  else
    echo "fuzz $t: ${execs} executions in ${took} s, no crash"
  fi
  report+="\"$t\": {\"seconds\": $took, \"executions\": ${execs:-0}, \"ok\": $((rc == 0 ? 1 : 0))},"
done
echo "${report%,}}" > build-fuzz/fuzz_report.json
exit "$failed"
