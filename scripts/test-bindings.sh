#!/usr/bin/env bash
# Tests the language bindings against the real servers: Go (bindings/go, cgo, go test),
# Ruby (bindings/ruby, ruby-ffi, minitest; the gem built and installed first, its tests run
# from the installed gem), Python (bindings/python, ctypes, unittest; pip-installed into a
# virtualenv first, its tests and CPython's own test_ftplib run against the installed
# module), and the Clang module that Swift imports (include/module.modulemap, installed as
# PREFIX/include/ftpc, `import Ftpc`).
# Installs what they need from Debian (golang-go, ruby, ruby-ffi, clang) when missing.
# Runs every binding even when one fails; prints one summary line per binding and exits
# non-zero if any failed. Idempotent; writes only under target/bindings-test.
#
# Usage: scripts/test-bindings.sh PREFIX   (where `cargo cinstall --libdir lib` installed ftpc, with
#        the servers' env sourced: source target/ftp-servers/env, as for tests/c/run.sh)
# Environment: PYTHON (default python3), FTPC_BINDINGS (default "go ruby python clang":
#        the bindings to test).
# shellcheck disable=SC2016 # the `bash -c '...'` snippets take their arguments as $1, $2
set -euo pipefail
prefix=$(realpath "${1:?usage: scripts/test-bindings.sh PREFIX}")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${FTPC_SERVERS_STATE:?source target/ftp-servers/env first}"
[ -f "$prefix/lib/pkgconfig/ftpc.pc" ] || { echo "test-bindings.sh: no ftpc installed in $prefix" >&2; exit 2; }

out=$repo/target/bindings-test
mkdir -p "$out"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
python=${PYTHON:-python3}
bindings=${FTPC_BINDINGS:-go ruby python clang}

# --- what the bindings need -------------------------------------------------------------
missing=()
want() { case " $bindings " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if want go; then command -v go >/dev/null || missing+=(golang-go); fi
if want ruby; then
    if ! command -v ruby >/dev/null; then
        missing+=(ruby ruby-ffi)
    else
        ruby -e 'require "ffi"' 2>/dev/null || missing+=(ruby-ffi)
        ruby -e 'require "minitest"' 2>/dev/null || missing+=(ruby-minitest)
    fi
fi
if want python; then command -v "$python" >/dev/null || missing+=(python3); fi
# CPython's test_ftplib (bindings/python/run_cpython_test_ftplib.py): Debian's own Python
# has it in libpython3.X-testsuite; a Python built from source (pyenv) has it already.
if want python && command -v "$python" >/dev/null && [[ $(realpath "$(command -v "$python")") == /usr/bin/* ]] &&
    ! "$python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("test.test_ftplib") is None)'; then
    missing+=("libpython$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-testsuite")
fi
if want clang; then command -v clang >/dev/null || missing+=(clang); fi
if want go || want clang; then command -v pkg-config >/dev/null || missing+=(pkg-config); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-bindings.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

declare -A summary=()
failed=0

# run NAME LOG COMMAND...: runs a test command, its output both shown and kept in LOG.
run() {
    local name=$1 log=$2; shift 2
    printf '\n==== bindings: %s\n' "$name"
    local rc=0
    "$@" 2>&1 | tee "$log" || rc=$?
    return $rc
}

# --- Go ---------------------------------------------------------------------------------
test_go() {
    local log=$out/go.log rc=0
    # Offline and self-contained: the standard library only, no module downloads, caches
    # under target/.
    export GOPROXY=off GOTOOLCHAIN=local
    export GOCACHE=${GOCACHE:-$out/go-cache} GOPATH=${GOPATH:-$out/gopath}
    run go "$log" bash -c 'cd "$1" && go vet ./... && go test -count=1 -v -timeout 600s ./...' _ "$repo/bindings/go" || rc=$?
    local pass fail
    pass=$(grep -cE '^ *--- PASS' "$log" || true)
    fail=$(grep -cE '^ *--- FAIL' "$log" || true)
    if [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi # build or vet failure
    summary[go]="go: $pass passed, $fail failed"
    return $rc
}

# --- Ruby -------------------------------------------------------------------------------
test_ruby() {
    local log=$out/ruby.log rc=0
    # The gem as a user takes it: gem build + gem install (into a gem directory of our own,
    # ffi and minitest from the system), then the installed gem's tests, run from outside
    # the source tree, loading the installed lib/ftpc.rb.
    run ruby "$log" bash -c '
        set -e
        rm -rf "$2"; mkdir -p "$2"
        cd "$1"
        gem build ftpc.gemspec --output "$2/ftpc.gem"
        export GEM_HOME=$2/home
        gem install --local --no-document "$2/ftpc.gem"
        cd "$2"
        ruby -w -e "require %q(ftpc); s = Gem.loaded_specs[%q(ftpc)] or abort %q(ftpc was not loaded from a gem)
                    puts %Q(ftpc gem #{s.version} in #{s.gem_dir}); load File.join(s.gem_dir, %q(test/test_ftpc.rb))"
    ' _ "$repo/bindings/ruby" "$out/ruby-gem" || rc=$?
    local line runs=0 failures=0 errors=0 skips=0
    line=$(grep -E '^[0-9]+ runs, ' "$log" | tail -n1 || true)
    if [ -n "$line" ]; then
        read -r runs failures errors skips < <(sed -E 's/^([0-9]+) runs, [0-9]+ assertions, ([0-9]+) failures, ([0-9]+) errors, ([0-9]+) skips.*/\1 \2 \3 \4/' <<<"$line")
    fi
    local bad=$((failures + errors))
    if [ $rc -ne 0 ] && [ $bad -eq 0 ]; then bad=1; fi
    summary[ruby]="ruby: $((runs - failures - errors - skips)) passed, $bad failed, $skips skipped"
    return $rc
}

# --- Python -----------------------------------------------------------------------------
test_python() {
    local log=$out/python.log rc=0
    # The package as a user takes it: `pip install ./bindings/python` into a fresh
    # virtualenv (pip fetches the build backend, setuptools, from PyPI into its isolated
    # build environment, or takes it from its cache), then the tests, from a directory
    # outside the source tree, against the installed module.
    run python "$log" bash -c '
        set -e
        "$2" -m venv --clear "$3"
        py=$3/bin/python
        "$py" -m pip install -q --disable-pip-version-check "$1"
        rm -rf "$4"; mkdir -p "$4"; cp "$1/test_ftpc_ftplib.py" "$1/test_ftpc_asyncio.py" "$4/"
        cd "$4"
        "$py" -c "import ftpc_ftplib, ftpc_asyncio, sys; f = ftpc_asyncio.__file__; print(\"ftpc_asyncio from\", f); sys.exit(not f.startswith(sys.prefix))"
        "$py" -W error::ResourceWarning -m unittest -v test_ftpc_ftplib test_ftpc_asyncio
    ' _ "$repo/bindings/python" "$python" "$out/venv" "$out/python-tests" || rc=$?
    local ran failures errors skipped
    ran=$(sed -nE 's/^Ran ([0-9]+) tests? in .*/\1/p' "$log" | tail -n1)
    failures=$(sed -nE 's/.*[(, ]failures=([0-9]+).*/\1/p' "$log" | tail -n1)
    errors=$(sed -nE 's/.*[(, ]errors=([0-9]+).*/\1/p' "$log" | tail -n1)
    skipped=$(sed -nE 's/.*[(, ]skipped=([0-9]+).*/\1/p' "$log" | tail -n1)
    ran=${ran:-0} failures=${failures:-0} errors=${errors:-0} skipped=${skipped:-0}
    local bad=$((failures + errors))
    if [ $rc -ne 0 ] && [ $bad -eq 0 ]; then bad=1; fi
    if [ "$ran" -eq 0 ]; then bad=$((bad + 1)); rc=1; fi # a run that tested nothing fails
    summary[python]="python: $((ran - failures - errors - skipped)) passed, $bad failed, $skipped skipped"
    # CPython's own Lib/test/test_ftplib.py against the installed module, its import of
    # ftplib replaced by ftpc_ftplib, twice (verification on, and off as ftplib's default):
    # every test passes but the deliberate differences listed in run_cpython_test_ftplib.py.
    local clog=$out/python-cpython-test_ftplib.log crc=0
    run "python: CPython's test_ftplib" "$clog" bash -c '
        set -e
        cp "$1/run_cpython_test_ftplib.py" "$2/"
        cd "$2"
        "$3/bin/python" run_cpython_test_ftplib.py
    ' _ "$repo/bindings/python" "$out/python-tests" "$out/venv" || crc=$?
    local cline
    cline=$(sed -n 's/^cpython-test_ftplib: //p' "$clog" | tail -n1)
    summary[python]+="; CPython test_ftplib: ${cline:-did not run (exit status $crc)}"
    [ $crc -eq 0 ] || rc=1
    return $rc
}

# --- Clang module (what Swift's `import Ftpc` builds) ------------------------------------
test_clang() {
    local log=$out/clang.log dir=$out/clang
    rm -rf "$dir"
    mkdir -p "$dir"
    : >"$log"
    local pass=0 fail=0
    # cargo cinstall puts ftpc.h and module.modulemap in PREFIX/include/ftpc (Cflags: -I that).
    local inc=$prefix/include/ftpc map=$prefix/include/ftpc/module.modulemap
    local warn=(-Wall -Wextra -Wpedantic -Werror)
    # check NAME COMMAND...: each check builds the module afresh (its own module cache),
    # since warnings inside a module appear only while it is built.
    check() {
        local name=$1; shift
        if (cd "$dir" && "$@") >>"$log" 2>&1; then
            pass=$((pass + 1)); echo "ok   $name" | tee -a "$log"
        else
            fail=$((fail + 1)); echo "FAIL $name" | tee -a "$log"
        fi
    }
    printf '\n==== bindings: clang module\n'
    cat >"$dir/import.m" <<'EOF'
@import Ftpc;
int main(void) { return ftp_version() == 0 || FTP_ERR_PERM != -3 || FTP_NO_REST != -1; }
EOF
    cat >"$dir/include.c" <<'EOF'
#include <ftpc.h>
#include <stdio.h>
int main(void)
{
    ftp_client *c = ftp_new();
    const char *dir = NULL;
    int ok = c != NULL && ftp_set_pasv(c, 1) == FTP_OK && ftp_pwd(c, &dir) == FTP_ERR_WRONG_STATE && dir == NULL;
    ftp_free(c);
    printf("ftpc %s through module Ftpc: %s\n", ftp_version(), ok ? "ok" : "FAILED");
    return !ok;
}
EOF
    printf 'module App {\n    header "app.h"\n    use Ftpc\n}\n' >"$dir/app.modulemap"
    printf 'module App {\n    header "app.h"\n}\n' >"$dir/app-nouse.modulemap"
    printf '#include <ftpc.h>\n' >"$dir/app.h"
    printf '#include "app.h"\nint main(void) { return ftp_version() == 0; }\n' >"$dir/app.c"

    check "module map installed" test -f "$map"
    check "@import Ftpc (Objective-C, -Wall -Wextra -Wpedantic -Werror)" \
        clang -fmodules -fmodules-cache-path=mc1 -fmodule-map-file="$map" -I"$inc" "${warn[@]}" -fsyntax-only import.m
    check "@import Ftpc, module map found through -I only" \
        clang -fmodules -fmodules-cache-path=mc2 -I"$inc" "${warn[@]}" -fsyntax-only import.m
    check "#include <ftpc.h> as a module import (C11), linked and run" \
        bash -c 'set -o pipefail; clang -std=c11 -fmodules -fmodules-cache-path=mc3 -fmodule-map-file="$1" -I"$2" "${@:4}" -Rmodule-import include.c -o include-c $3 2>&1 | tee remarks.txt &&
                 grep -q "importing module '"'"'Ftpc'"'"'" remarks.txt && ./include-c' \
        _ "$map" "$inc" "$(pkg-config --libs ftpc)" "${warn[@]}"
    check "#include <ftpc.h> as a module import (C++17, -fcxx-modules)" \
        clang -x c++ -std=c++17 -fmodules -fcxx-modules -fmodules-cache-path=mc4 -fmodule-map-file="$map" -I"$inc" "${warn[@]}" -fsyntax-only include.c
    check "-Weverything (but -Wnon-modular-include-in-module: libc has no module map here)" \
        clang -fmodules -fmodules-cache-path=mc5 -fmodule-map-file="$map" -I"$inc" -Weverything \
            -Wno-non-modular-include-in-module -Werror -fsyntax-only import.m
    check "-fmodules-decluse: a module that declares 'use Ftpc' may include ftpc.h" \
        clang -fmodules -fmodules-cache-path=mc6 -fmodules-decluse -fmodule-name=App -fmodule-map-file=app.modulemap \
            -fmodule-map-file="$map" -I"$inc" "${warn[@]}" -c app.c -o app.o
    check "-fmodules-decluse: one that does not is refused" \
        bash -c '! clang -fmodules -fmodules-cache-path=mc7 -fmodules-decluse -fmodule-name=App -fmodule-map-file=app-nouse.modulemap \
                   -fmodule-map-file="$1" -I"$2" -c app.c -o app.o 2>err.txt && grep -q "does not depend on a module exporting" err.txt' _ "$map" "$inc"
    summary[clang]="clang-module: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

for b in $bindings; do
    case $b in
        go|ruby|python|clang) ;;
        *) echo "test-bindings.sh: unknown binding '$b'" >&2; exit 2 ;;
    esac
    if ! "test_$b"; then
        failed=1
    fi
done

printf '\n==== bindings summary\n'
for b in $bindings; do echo "${summary[$b]}"; done
if [ $failed -ne 0 ]; then
    echo "bindings: FAILED (logs in $out)"
    exit 1
fi
echo "bindings: all passed"
