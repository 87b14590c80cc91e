#!/usr/bin/env bash
# Tests ftpc's packaging the way its users take it, against an installed prefix (made by
# `cargo cinstall`, as scripts/test.sh does) and the real servers:
#   - the package versions agree (Cargo.toml, ftpc.pc, ftpc.h, the Python and Ruby packages)
#   - a C program built with `pkg-config --cflags --libs ftpc` (shared library)
#   - a static-only install (`cargo cinstall --library-type staticlib`) and a C program
#     built with one `pkg-config --static --cflags --libs ftpc` call, which needs no
#     libftpc.so at run time
#   - the CMake package: examples-c/cmake (find_package(ftpc), ftpc::ftpc and ftpc::static,
#     then ftpc::ftpc with FTPC_USE_STATIC_LIBS=ON), configured, built and run
#   - Meson: examples-c/meson (dependency('ftpc') and dependency('ftpc', static: true))
#   - the Go module from outside the repository, with no replace directive: `go get` of the
#     module path from a module proxy (a file:// GOPROXY made from bindings/go), then a
#     small program built and run
# (The Python package and the Ruby gem are installed, and their tests run from the installed
# copies, by scripts/test-bindings.sh.)
# Prints one line per check and "packaging: N passed, N failed"; exits non-zero if any
# failed. Writes only under target/packaging-test.
#
# Usage: scripts/test-packaging.sh PREFIX   (with the servers' env sourced:
#        source target/ftp-servers/env)
# Environment: FTPC_CARGO_PROFILE (default dev): the profile of the static-only install.
set -euo pipefail
prefix=$(realpath "${1:?usage: scripts/test-packaging.sh PREFIX}")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${FTPC_SERVERS_STATE:?source target/ftp-servers/env first}"
[ -f "$prefix/lib/pkgconfig/ftpc.pc" ] || { echo "test-packaging.sh: no ftpc installed in $prefix/lib" >&2; exit 2; }
profile=${FTPC_CARGO_PROFILE:-dev}

work=$repo/target/packaging-test
rm -rf "$work"
mkdir -p "$work"
log=$work/log
: >"$log"
server=("$FTPC_TEST_HOST" "$FTPC_VSFTPD_PORT" "$FTPC_TEST_USER" "$FTPC_TEST_PASS")
warn=(-Wall -Wextra -Wpedantic -Werror)
example=$repo/examples-c/cmake/main.c

pass=0
fail=0
# check NAME COMMAND...: runs COMMAND (output to the log, shown when it fails).
check() {
    local name=$1; shift
    local out=$work/check.out rc=0
    { echo "==== $name"; } >>"$log"
    "$@" >"$out" 2>&1 || rc=$?
    cat "$out" >>"$log"
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/    /' "$out" | tail -n 40
    fi
}
# needed FILE: the NEEDED entries of an ELF file, one per line.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }
# uses_shared EXE / uses_static EXE: checks that EXE needs libftpc.so (or not: libftpc.a
# is linked in), then runs it against vsftpd.
uses_shared() {
    needed "$1" | grep -q '^libftpc\.so' || { echo "$1 does not link libftpc.so: $(needed "$1" | paste -sd' ' -)"; return 1; }
    LD_LIBRARY_PATH=$prefix/lib "$1" "${server[@]}"
}
uses_static() {
    if needed "$1" | grep -q '^libftpc'; then echo "$1 links $(needed "$1" | grep '^libftpc')"; return 1; fi
    env -u LD_LIBRARY_PATH "$1" "${server[@]}"
}

# --- versions -----------------------------------------------------------------------------
versions() {
    local cargo_v pc_v h_v py_v gem_v
    cargo_v=$(cargo metadata --no-deps --offline --format-version 1 --manifest-path "$repo/Cargo.toml" |
        python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "ftpc"))')
    pc_v=$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config --modversion ftpc)
    h_v=$(sed -n 's/^#define FTPC_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$repo/include/ftpc.h" | paste -sd. -)
    py_v=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/bindings/python/pyproject.toml")
    gem_v=$(ruby -e 'puts Gem::Specification.load(ARGV[0]).version' "$repo/bindings/ruby/ftpc.gemspec")
    echo "Cargo.toml $cargo_v, ftpc.pc $pc_v, ftpc.h $h_v, pyproject.toml $py_v, ftpc.gemspec $gem_v"
    [ "$pc_v" = "$cargo_v" ] && [ "$h_v" = "$cargo_v" ] && [ "$py_v" = "$cargo_v" ] && [ "$gem_v" = "$cargo_v" ]
}
check "versions agree (Cargo.toml, ftpc.pc, ftpc.h, pyproject.toml, ftpc.gemspec)" versions

# --- C through pkg-config -----------------------------------------------------------------
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
c_shared() {
    # shellcheck disable=SC2046 # pkg-config prints a list of flags
    cc -std=c11 "${warn[@]}" "$example" $(pkg-config --cflags --libs ftpc) -o "$work/c-shared" &&
        uses_shared "$work/c-shared"
}
check "C, shared: cc app.c \$(pkg-config --cflags --libs ftpc)" c_shared

static_prefix=$work/static-prefix
c_static() {
    # The static library installed on its own: cargo-c then puts everything in Libs, and
    # no libftpc.so beside libftpc.a can be picked by -lftpc.
    (cd "$repo" && cargo cinstall --locked --profile "$profile" --library-type staticlib \
        --prefix "$static_prefix" --libdir lib) || return 1
    [ ! -e "$static_prefix/lib/libftpc.so" ] || { echo "a static-only install has libftpc.so"; return 1; }
    local flags
    flags=$(PKG_CONFIG_PATH=$static_prefix/lib/pkgconfig pkg-config --static --cflags --libs ftpc)
    echo "pkg-config --static --cflags --libs ftpc: $flags"
    # shellcheck disable=SC2086
    cc -std=c11 "${warn[@]}" "$example" $flags -o "$work/c-static" && uses_static "$work/c-static"
}
check "C, static: cc app.c \$(pkg-config --static --cflags --libs ftpc), static-only install" c_static

# --- CMake ----------------------------------------------------------------------------------
cmake_consumer() {
    local b=$work/cmake-build
    cmake -S "$repo/examples-c/cmake" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$b" &&
        uses_shared "$b/ftpc-pwd" && uses_static "$b/ftpc-pwd-static"
}
check "CMake: find_package(ftpc 0.1 COMPONENTS shared static), ftpc::ftpc and ftpc::static" cmake_consumer
cmake_static() {
    local b=$work/cmake-build-static
    cmake -S "$repo/examples-c/cmake" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" -DFTPC_USE_STATIC_LIBS=ON &&
        cmake --build "$b" --target ftpc-pwd &&
        uses_static "$b/ftpc-pwd"
}
check "CMake: ftpc::ftpc with FTPC_USE_STATIC_LIBS=ON is the static library" cmake_static
cmake_version() {
    # A request for another minor version of 0.x is refused (the SONAME changes with it).
    local d=$work/cmake-version
    mkdir -p "$d"
    printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(ftpc 0.99 CONFIG QUIET)\nif(ftpc_FOUND)\n  message(FATAL_ERROR "ftpc ${ftpc_VERSION} accepted for 0.99")\nendif()\nfind_package(ftpc 0.1.0 EXACT CONFIG REQUIRED)\n' >"$d/CMakeLists.txt"
    cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$prefix"
}
check "CMake: ftpcConfigVersion.cmake (0.1.0 exact, 0.99 refused)" cmake_version

# --- Meson ------------------------------------------------------------------------------------
meson_consumer() {
    local b=$work/meson-build
    meson setup "$b" "$repo/examples-c/meson" && meson compile -C "$b" &&
        uses_shared "$b/ftpc-pwd" && uses_static "$b/ftpc-pwd-static"
}
if command -v meson >/dev/null; then
    check "Meson: dependency('ftpc') and dependency('ftpc', static: true)" meson_consumer
fi

# --- Go module from outside the repository ---------------------------------------------------
go_module() {
    local mod ver proxy consumer
    mod=$(sed -n 's/^module //p' "$repo/bindings/go/go.mod")
    ver=v$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config --modversion ftpc)
    proxy=$work/goproxy
    consumer=$work/go-consumer
    # A module proxy in a directory (the GOPROXY protocol over file://): the module as a
    # released version, zipped as `go mod download` expects it.
    mkdir -p "$proxy/$mod/@v" "$consumer"
    echo "$ver" >"$proxy/$mod/@v/list"
    cp "$repo/bindings/go/go.mod" "$proxy/$mod/@v/$ver.mod"
    printf '{"Version":"%s","Time":"2026-01-01T00:00:00Z"}\n' "$ver" >"$proxy/$mod/@v/$ver.info"
    python3 - "$repo/bindings/go" "$proxy/$mod/@v/$ver.zip" "$mod@$ver" <<'EOF'
import os, sys, zipfile
src, dst, prefix = sys.argv[1:]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if os.path.isfile(path):
            z.write(path, f"{prefix}/{name}")
EOF
    cat >"$consumer/go.mod" <<EOF
module example.com/ftpc-consumer

go 1.19
EOF
    cat >"$consumer/main.go" <<EOF
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	ftpc "$mod"
)

func main() {
	port, _ := strconv.Atoi(os.Args[2])
	c, err := ftpc.New()
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Connect(os.Args[1], port); err != nil {
		panic(err)
	}
	if err := c.Login(os.Args[3], os.Args[4]); err != nil {
		panic(err)
	}
	local := filepath.Join(os.TempDir(), fmt.Sprintf("ftpc-go-consumer-%d", os.Getpid()))
	defer os.Remove(local)
	var last uint64
	if err := c.RetrieveFile("hello.txt", local, func(done uint64, total int64) error { last = done; return nil }); err != nil {
		panic(err)
	}
	b, _ := os.ReadFile(local)
	entries, err := c.List("")
	if err != nil {
		panic(err)
	}
	fmt.Printf("ftpc %s: hello.txt %q (progress %d), %d entries (%s is %d)\n", ftpc.Version(), b, last, len(entries), ftpc.ErrPerm.String(), int(ftpc.ErrPerm))
	for _, e := range entries {
		fmt.Printf("  %-5s %s\n", e.Type, e.Name)
	}
	if err := c.Quit(); err != nil {
		panic(err)
	}
}
EOF
    (
        cd "$consumer"
        # A fresh module cache and build cache: go does not key its cache on what pkg-config
        # prints, so a shared cache could link against an earlier prefix.
        export GOPROXY=file://$proxy GOSUMDB=off GOFLAGS="-mod=mod -modcacherw" GOTOOLCHAIN=local \
            GOPATH=$work/gopath GOCACHE=$work/gocache
        go get "$mod@$ver" && go vet ./... && go build -o consumer . || exit 1
        ! grep -q replace go.mod || { echo "go.mod has a replace directive"; exit 1; }
        echo "go.mod:"; cat go.mod
        LD_LIBRARY_PATH=$prefix/lib ./consumer "${server[@]}"
    )
}
if command -v go >/dev/null; then
    check "Go: go get <module path>@version from a module proxy, outside the repository, no replace" go_module
fi

echo "packaging: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
