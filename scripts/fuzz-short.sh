#!/usr/bin/env bash
# A short fuzz run for the test command, on the STABLE toolchain: no nightly, no
# cargo-fuzz, no -Z flag. Builds every target of fuzz/ with libfuzzer-sys and
# SanitizerCoverage instrumentation (the flags cargo-fuzz passes, minus the sanitizer:
# AddressSanitizer needs nightly), with debug assertions and overflow checks on, so an
# arithmetic overflow or a failed debug_assert! is a crash too. Then runs each target for
# SECONDS_PER_TARGET seconds (default 5) on a fresh COPY of its committed seed corpus
# (fuzz/corpus/<target> is never written to), and prints executions, coverage and corpus
# size per target. Exits non-zero if any target crashed, timed out (-timeout=10 per
# input) or went over the memory limit (-rss_limit_mb=2048); the input that did it is
# copied to fuzz/artifacts/<target>/ and its path printed. Replay it with
#   fuzz/target/stable/<triple>/release/<target> fuzz/artifacts/<target>/<file>
#
# Usage: scripts/fuzz-short.sh [SECONDS_PER_TARGET] [TARGET...]
# Env:   FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10, seconds per input),
#        FUZZ_SHORT_TOOLCHAIN (stable; the rustup toolchain to build with when rustup exists).
#
# The build is cached in fuzz/target/stable (its own target directory: the nightly ASan
# build of scripts/fuzz.sh in fuzz/target/<triple> is left alone). The long runs, with
# AddressSanitizer and a corpus kept between runs, are scripts/fuzz.sh (nightly).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/fuzz-common.sh
source "$repo/scripts/fuzz-common.sh"
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TERM_COLOR=never
# The fuzz build has its own target directory and host target, whatever the caller uses.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR CARGO_BUILD_TARGET CARGO_ENCODED_RUSTFLAGS

seconds=${1:-5}
shift || true
case $seconds in '' | *[!0-9]* | 0) echo "usage: $0 [SECONDS_PER_TARGET>0] [TARGET...]" >&2; exit 2 ;; esac
all_targets=(reply_reader pasv mlsd list_line parse257 conversation)
targets=("${all_targets[@]}")
[ $# -eq 0 ] || targets=("$@")
rss_mb=${FUZZ_RSS_MB:-2048}
per_input=${FUZZ_TIMEOUT:-10}
toolchain=${FUZZ_SHORT_TOOLCHAIN:-stable}

# Through rustup when there is one (so a rust-toolchain override or RUSTUP_TOOLCHAIN cannot
# turn this into a nightly build), else whatever cargo/rustc are on PATH.
cargo=(cargo)
rustc=(rustc)
if command -v rustup >/dev/null 2>&1 && rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    cargo=(rustup run "$toolchain" cargo)
    rustc=(rustup run "$toolchain" rustc)
fi
triple=$("${rustc[@]}" -vV | sed -n 's/^host: //p')
target_dir=$repo/fuzz/target/stable
bin_dir=$target_dir/$triple/release
logs=$target_dir/logs
mkdir -p "$logs"

# What `cargo fuzz build -s none -a` passes (cargo-fuzz 0.13, src/project.rs), all stable
# codegen options: inline 8-bit counters + PC table (coverage), comparison tracing (CMP
# feedback), stack depth (for -use_value_profile), branch folding off, cfg(fuzzing).
rustflags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    --cfg fuzzing
    -Cdebug-assertions
    -Coverflow-checks
)
echo "building the fuzz targets with $("${rustc[@]}" --version) (SanitizerCoverage, no sanitizer)"
start=$SECONDS
# --target: RUSTFLAGS then reach only the target's crates, not build scripts and proc
# macros (which must not be instrumented: they are not linked with libFuzzer).
if ! RUSTFLAGS="${rustflags[*]}" "${cargo[@]}" build --locked --release \
    --manifest-path "$repo/fuzz/Cargo.toml" --target "$triple" --target-dir "$target_dir" --bins \
    --config 'profile.release.debug="line-tables-only"' >"$logs/build.log" 2>&1; then
    tail -60 "$logs/build.log" >&2
    if grep -q 'lock file' "$logs/build.log"; then
        echo "fuzz/Cargo.lock is out of date with the crate's dependencies; refresh it with" \
            "\`cargo update --manifest-path fuzz/Cargo.toml --workspace\` and commit it" >&2
    fi
    echo "fuzz build failed (whole log: $logs/build.log)" >&2
    exit 1
fi
grep -E '^(warning|error)' -A6 "$logs/build.log" || true
echo "built in $((SECONDS - start))s"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ftpc-fuzz-short.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
    bin=$bin_dir/$t
    [ -x "$bin" ] || { echo "no fuzz target $t (built: ${all_targets[*]})" >&2; exit 2; }
    seeds=$repo/fuzz/corpus/$t
    work=$scratch/corpus/$t
    found=$scratch/artifacts/$t
    mkdir -p "$work" "$found"
    # A copy: libFuzzer adds what it finds to its first corpus directory.
    if [ -d "$seeds" ]; then cp -R "$seeds/." "$work/"; fi
    log=$logs/$t.log
    echo "== $t: ${seconds}s on $(find "$work" -type f | wc -l) seeds"
    rc=0
    timeout --kill-after=10 $((seconds + per_input + 60)) "$bin" "$work" \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$per_input" \
        -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$found/" >"$log" 2>&1 || rc=$?
    crashes=$(find "$found" -type f | wc -l)
    line=$(summary_line "$t" "$log" "$crashes")
    echo "$line"
    summary+=("$line")
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed+=("$t")
        show_failure "$t" "$log" "$rc"
        mkdir -p "$repo/fuzz/artifacts/$t"
        for f in "$found"/*; do
            [ -e "$f" ] || continue
            cp "$f" "$repo/fuzz/artifacts/$t/"
            echo "artifact: fuzz/artifacts/$t/$(basename "$f")  (replay: $bin fuzz/artifacts/$t/$(basename "$f"))"
        done
    fi
done

final_report "short fuzz summary (${seconds}s per target, stable, no sanitizer)"
