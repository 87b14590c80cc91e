# shellcheck shell=bash disable=SC2154 # summary and failed are the sourcing script's
# Shared by scripts/fuzz.sh (nightly, cargo-fuzz, AddressSanitizer) and scripts/fuzz-short.sh
# (stable, the test command's short run): per-target limits, one summary line per target from
# libFuzzer's log, and the final report. Sourced, not run.

# Input size limit per target: room for an over-long reply line (8192 bytes) where replies
# are fuzzed (conversation: its replies are short, so 16 KiB holds dozens of chained
# conversations and still an over-long line).
max_len() {
    case $1 in
        reply_reader) echo 24576 ;;
        conversation) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

# summary_line TARGET LOG CRASHES: executions, rate, coverage, features, corpus, peak RSS.
summary_line() {
    local target=$1 log=$2 crashes=$3 execs rate peak final cov ft corp
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    final=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$final")
    printf '%-13s execs %-10s exec/s %-7s cov %-5s features %-6s corpus %-14s rss %-4s MB crashes %s' \
        "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${peak:-?}" "$crashes"
}

# show_failure TARGET LOG RC: the end of a failed target's log, without the progress lines.
show_failure() {
    echo "---- $1 failed (exit $3, libFuzzer seed $(sed -n 's/^INFO: Seed: *//p' "$2" | head -1)); end of $2:"
    grep -Ev '^#[0-9]+[[:space:]]' "$2" | tail -40 || true
}

# final_report TITLE: the summary lines of every target (array `summary`), then exits 1 if
# any target is in the array `failed`.
final_report() {
    echo
    echo "==== $1"
    printf '%s\n' "${summary[@]}"
    if [ "${#failed[@]}" -ne 0 ]; then
        echo "FAILED: ${failed[*]}"
        exit 1
    fi
    echo "no crashes"
}
