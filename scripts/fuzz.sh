#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS_PER_TARGET seconds each (default 10),
# one after the other, on the committed seed corpus (fuzz/corpus/<target>, read only) plus a
# working corpus that grows between runs (fuzz/target/corpus/<target>, not committed).
# Prints executions, coverage and corpus size per target; exits non-zero if any target
# crashed, leaked, timed out or ran out of memory (the input is kept in
# fuzz/artifacts/<target>/ and its path printed; replay it with
# `fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>`).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Env:   FUZZ_SANITIZER (address, the default; none runs faster), FUZZ_RSS_MB (2048).
#
# Needs the nightly toolchain and cargo-fuzz (installed here when missing). The build is
# cached in fuzz/target: a second run only rebuilds what changed.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/fuzz-common.sh
source "$repo/scripts/fuzz-common.sh"
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TERM_COLOR=never
# The fuzz build has its own target directory (fuzz/target), whatever the caller uses.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

seconds=${1:-10}
shift || true
case $seconds in '' | *[!0-9]* | 0) echo "usage: $0 [SECONDS_PER_TARGET>0] [TARGET...]" >&2; exit 2 ;; esac
all_targets=(reply_reader pasv mlsd list_line parse257 conversation)
targets=("${all_targets[@]}")
[ $# -eq 0 ] || targets=("$@")
sanitizer=${FUZZ_SANITIZER:-address}
rss_mb=${FUZZ_RSS_MB:-2048}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "installing the nightly toolchain (cargo fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$repo/fuzz/target/$triple/release
logs=$repo/fuzz/target/logs
mkdir -p "$logs"
echo "building the fuzz targets (sanitizer: $sanitizer)"
start=$SECONDS
# -a: debug assertions and overflow checks on, so arithmetic overflow is a crash too.
if ! cargo +nightly fuzz build -a -s "$sanitizer" >"$logs/build.log" 2>&1; then
    tail -60 "$logs/build.log" >&2
    echo "fuzz build failed (whole log: $logs/build.log)" >&2
    exit 1
fi
grep -E '^(warning|error)' -A6 "$logs/build.log" || true
echo "built in $((SECONDS - start))s"

failed=()
summary=()
for t in "${targets[@]}"; do
    bin=$bin_dir/$t
    [ -x "$bin" ] || { echo "no fuzz target $t (built: ${all_targets[*]})" >&2; exit 2; }
    seeds=$repo/fuzz/corpus/$t
    work=$repo/fuzz/target/corpus/$t
    artifacts=$repo/fuzz/artifacts/$t
    mkdir -p "$work" "$artifacts" "$seeds"
    before=$(find "$artifacts" -type f | sort)
    log=$logs/$t.log
    echo "== $t: ${seconds}s"
    rc=0
    # libFuzzer writes new inputs to the first directory only: the seeds stay untouched.
    timeout --kill-after=10 $((seconds + 120)) "$bin" "$work" "$seeds" \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" \
        -max_len="$(max_len "$t")" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
    new_artifacts=$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort) | sed '/^$/d')
    crashes=$(sed '/^$/d' <<<"$new_artifacts" | wc -l)
    line=$(summary_line "$t" "$log" "$crashes")
    echo "$line"
    summary+=("$line")
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed+=("$t")
        show_failure "$t" "$log" "$rc"
        sed 's/^/artifact: /' <<<"$new_artifacts"
    fi
done

final_report "fuzz summary (${seconds}s per target)"
