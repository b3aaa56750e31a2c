# shellcheck shell=bash
# The fuzz smoke run: every cargo-fuzz target for FUZZ_SECONDS, from its
# committed seeds (fuzz/corpus/TARGET) and dictionary (fuzz/dicts/TARGET.dict).
# Sourced by .ci/run; defines fuzz_smoke. Needs ROOT, SCRATCH, FUZZ_SECONDS,
# FUZZ_TIMEOUT.

# fuzz_one TARGET: runs one target, prints a one-line result; on failure,
# the tail of its log, the panic/sanitizer lines and how to reproduce.
fuzz_one() {
  local t="$1"
  local corpus="$SCRATCH/fuzz-corpus/$t" log="$SCRATCH/fuzz-$t.log"
  mkdir -p "$corpus"
  local dirs=("$corpus") opts=(
    "-max_total_time=$FUZZ_SECONDS"
    "-rss_limit_mb=2048"
    "-timeout=$FUZZ_TIMEOUT"
    "-print_final_stats=1"
  )
  local seeds="(none)" dict="(none)"
  if [[ -d "fuzz/corpus/$t" ]]; then
    dirs+=("$ROOT/fuzz/corpus/$t")
    seeds="fuzz/corpus/$t ($(find "fuzz/corpus/$t" -type f | wc -l) files)"
  fi
  if [[ -f "fuzz/dicts/$t.dict" ]]; then
    opts+=("-dict=$ROOT/fuzz/dicts/$t.dict")
    dict="fuzz/dicts/$t.dict"
  fi
  echo
  echo "--- fuzz target $t: seeds $seeds, dict $dict"
  local start rc=0
  start=$(date +%s)
  # RUST_LIB_BACKTRACE=0: no anyhow backtrace of cargo-fuzz itself on a crash
  # (a panicking target still prints its own backtrace under RUST_BACKTRACE).
  RUST_LIB_BACKTRACE=0 timeout --kill-after=30 $((FUZZ_SECONDS + 600)) \
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" "${dirs[@]}" -- "${opts[@]}" >"$log" 2>&1 || rc=$?
  local execs
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if ((rc == 0)); then
    echo "fuzz $t: ok, ${execs:-?} execs in $(($(date +%s) - start))s"
    FUZZ_SUMMARY+=("$t: ${execs:-?} execs")
    return 0
  fi
  echo "fuzz $t: FAILED (exit $rc) after $(($(date +%s) - start))s; last lines of its output:"
  tail -n 40 "$log"
  echo "--- fuzz $t: the failure, in short:"
  grep -E 'panicked at|ERROR: |SUMMARY: |^stat::number_of_executed_units' "$log" | head -n 20 || true
  local artifacts a
  artifacts="$(grep -oE 'Test unit written to [^ ]+' "$log" | awk '{ print $5 }' || true)"
  for a in $artifacts; do
    [[ "$a" == /* ]] || a="$ROOT/$a"
    echo "CRASH ARTIFACT: $a"
    if [[ -f "$a" && $(stat -c %s "$a") -le 4096 ]]; then
      echo "  base64: $(base64 -w0 "$a")"
    fi
    echo "  reproduce: cargo +nightly fuzz run --fuzz-dir fuzz $t $a"
  done
  if [[ -z "$artifacts" ]] && ((rc == 124 || rc == 137)); then
    echo "fuzz $t: killed by the $((FUZZ_SECONDS + 600))s guard timeout"
  fi
  FUZZ_SUMMARY+=("$t: FAILED")
  return 1
}

# fuzz_smoke: builds every target, runs each; fails if any failed.
fuzz_smoke() {
  local list targets=() t failed=()
  list="$(cargo +nightly fuzz list --fuzz-dir fuzz)"
  [[ -z "$list" ]] || mapfile -t targets <<<"$list"
  if ((${#targets[@]} == 0)); then
    echo "fuzz/Cargo.toml exists but 'cargo fuzz list' reports no targets"
    return 1
  fi
  echo "fuzz targets (${#targets[@]}): ${targets[*]}; FUZZ_SECONDS=$FUZZ_SECONDS per target"
  echo "+ cargo +nightly fuzz build --fuzz-dir fuzz"
  cargo +nightly fuzz build --fuzz-dir fuzz
  FUZZ_SUMMARY=()
  for t in "${targets[@]}"; do
    fuzz_one "$t" || failed+=("$t")
  done
  echo
  echo "fuzz summary (FUZZ_SECONDS=$FUZZ_SECONDS):"
  printf '  %s\n' "${FUZZ_SUMMARY[@]}"
  if ((${#failed[@]} > 0)); then
    echo "fuzz targets that failed: ${failed[*]}"
    return 1
  fi
}
