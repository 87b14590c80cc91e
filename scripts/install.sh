#!/usr/bin/env bash
# Build ftpc and install its C library: shared and static library, header,
# Clang/Swift module map and pkg-config file.
#
# Usage: scripts/install.sh [--prefix DIR] [--profile release|dev]
#                           [--libdir DIR] [--includedir DIR]
#                           [--no-ldconfig] [-- CARGO_BUILD_ARGS...]
#   --prefix DIR       install root (default /usr/local)
#   --profile NAME     cargo profile to build (default release)
#   --libdir DIR       default PREFIX/lib
#   --includedir DIR   default PREFIX/include
#   --no-ldconfig      never run ldconfig (by default it runs only as root,
#                      without DESTDIR, when LIBDIR is a system library dir)
#   -- ARGS            passed on to `cargo build` (e.g. -- --locked)
#
# Environment: DESTDIR (staging root, not written into ftpc.pc),
#   CARGO_TARGET_DIR (default target/), CARGO_BUILD_TARGET, CARGO, RUSTC,
#   RUSTFLAGS.
#
# Installs (for version X.Y.Z; SONAME libftpc.so.0.Y while X is 0, else
# libftpc.so.X, as set by build.rs):
#   LIBDIR/libftpc.so.X.Y.Z            the shared library (real file)
#   LIBDIR/libftpc.so.0.Y -> libftpc.so.X.Y.Z
#   LIBDIR/libftpc.so     -> libftpc.so.0.Y
#   LIBDIR/libftpc.a
#   LIBDIR/pkgconfig/ftpc.pc           from ftpc.pc.in
#   INCLUDEDIR/ftpc.h                  the committed include/ftpc.h
#   INCLUDEDIR/module.modulemap        module Ftpc, for Swift/Clang modules
# Running it again with the same arguments gives the same result.
set -euo pipefail

die() { echo "install.sh: error: $*" >&2; exit 1; }
note() { echo "install.sh: $*" >&2; }

prefix=/usr/local
profile=release
libdir=
includedir=
run_ldconfig=auto
cargo_args=()

while [ $# -gt 0 ]; do
    case $1 in
        --prefix|--profile|--libdir|--includedir)
            [ $# -ge 2 ] || die "$1 needs a value"
            opt=${1#--}; val=$2; shift 2 ;;
        --prefix=*|--profile=*|--libdir=*|--includedir=*)
            opt=${1%%=*}; opt=${opt#--}; val=${1#*=}; shift ;;
        --no-ldconfig) run_ldconfig=no; shift; continue ;;
        --) shift; cargo_args=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    case $opt in
        prefix) prefix=$val ;;
        profile) profile=$val ;;
        libdir) libdir=$val ;;
        includedir) includedir=$val ;;
    esac
done

abspath() { # absolute, normalised path; need not exist
    case $1 in
        /*) realpath -m -- "$1" ;;
        *) realpath -m -- "$PWD/$1" ;;
    esac
}
[ -n "$prefix" ] || die "--prefix must not be empty"
prefix=$(abspath "$prefix")
libdir=$(abspath "${libdir:-$prefix/lib}")
includedir=$(abspath "${includedir:-$prefix/include}")
case "$prefix$libdir$includedir" in
    *[[:space:]]*) die "installation paths must not contain white space (pkg-config cannot express them)" ;;
esac
destdir=${DESTDIR:-}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
rustc=${RUSTC:-rustc}

# --- package metadata ------------------------------------------------------------
toml_field() { # toml_field KEY: a string field of [package] in Cargo.toml
    sed -n "/^\[package\]/,/^\[/ s/^$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" Cargo.toml | head -n1
}
name=ftpc
version=$(toml_field version)
[ -n "$version" ] || die "cannot read the package version from Cargo.toml"
description=$(toml_field description)
IFS=. read -r major minor patch <<<"${version%%[-+]*}"
if [ "$major" -gt 0 ]; then soname=lib$name.so.$major; else soname=lib$name.so.0.$minor; fi
realname=lib$name.so.$major.$minor.$patch

[ -f include/ftpc.h ] || die "include/ftpc.h is missing; run scripts/gen-header.sh (and commit it)"

# --- build ------------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
case $profile in
    dev|test) profile_dir=debug ;;
    bench) profile_dir=release ;;
    *) profile_dir=$profile ;;
esac
out=$target_dir/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}$profile_dir

note "building ($profile profile) into $out"
"$cargo" build --lib --profile "$profile" ${cargo_args[@]+"${cargo_args[@]}"}

for f in "lib$name.so" "lib$name.a" "lib$name.rlib"; do
    [ -f "$out/$f" ] || die "$out/$f was not built (is crate-type rlib+cdylib+staticlib in Cargo.toml?)"
done
if command -v readelf >/dev/null 2>&1; then
    got=$(readelf -d "$out/lib$name.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [ "$got" = "$soname" ] || die "$out/lib$name.so has SONAME '${got:-none}', expected $soname (see build.rs)"
fi

# --- native libraries for static linking (Libs.private) ---------------------------
# The list rustc prints with --print native-static-libs for our staticlib.
# Asking for it while building ftpc would change the crate's rustc arguments
# and so force a rebuild of the crate now and again at the next plain
# `cargo build`. Instead link a one-line staticlib `extern crate ftpc;`
# against the rlib just built: rustc reads the native libraries of ftpc and
# of every dependency from the rlibs' metadata, so it prints the same list,
# in well under a second. If that probe fails (unusual RUSTFLAGS, a profile
# with panic=abort ...), fall back to asking cargo, which recompiles ftpc.
native_static_libs() {
    local tmp line
    tmp=$(mktemp -d)
    local -a flags=()
    if [ -n "${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
        IFS=$'\x1f' read -r -a flags <<<"$CARGO_ENCODED_RUSTFLAGS"
    elif [ -n "${RUSTFLAGS:-}" ]; then
        read -r -a flags <<<"$RUSTFLAGS"
    fi
    echo 'extern crate ftpc;' >"$tmp/probe.rs"
    line=$("$rustc" --edition 2021 --crate-type staticlib --crate-name ftpc_native_libs_probe \
            ${CARGO_BUILD_TARGET:+--target "$CARGO_BUILD_TARGET"} \
            ${flags[@]+"${flags[@]}"} \
            -L "dependency=$out/deps" --extern "$name=$out/lib$name.rlib" \
            --print native-static-libs -o "$tmp/libprobe.a" "$tmp/probe.rs" 2>&1 |
        sed -n 's/^note: native-static-libs: //p') || true
    rm -rf "$tmp"
    if [ -z "$line" ]; then
        note "probe for native-static-libs failed; asking cargo (recompiles $name)"
        line=$("$cargo" rustc --lib --profile "$profile" ${cargo_args[@]+"${cargo_args[@]}"} \
                -- --print native-static-libs 2>&1 |
            sed -n 's/^note: native-static-libs: //p' | tail -n1)
    fi
    # Drop repeated flags, keeping the first occurrence of each.
    local -a words=()
    read -r -a words <<<"$line"
    [ ${#words[@]} -gt 0 ] || return 0
    printf '%s\n' "${words[@]}" | awk 'NF && !seen[$0]++' | paste -sd' ' -
}
libs_private=$(native_static_libs)
[ -n "$libs_private" ] || die "could not determine the native libraries of the static library"
note "Libs.private: $libs_private"

# --- install ----------------------------------------------------------------------
D=$destdir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ftpc.pc, with paths relative to ${prefix} where possible so that
# `pkg-config --define-prefix` can relocate it.
pc_libdir=$libdir
pc_includedir=$includedir
# shellcheck disable=SC2016 # literal pkg-config variables
[ "$libdir" = "$prefix/lib" ] && pc_libdir='${exec_prefix}/lib'
# shellcheck disable=SC2016
[ "$includedir" = "$prefix/include" ] && pc_includedir='${prefix}/include'
pc=$(<ftpc.pc.in)
pc=${pc//@PREFIX@/"$prefix"}
pc=${pc//@LIBDIR@/"$pc_libdir"}
pc=${pc//@INCLUDEDIR@/"$pc_includedir"}
pc=${pc//@VERSION@/"$version"}
pc=${pc//@DESCRIPTION@/"$description"}
pc=${pc//@LIBS_PRIVATE@/"$libs_private"}
case $pc in *@[A-Z_]*@*) die "ftpc.pc.in has an unknown @VARIABLE@" ;; esac
printf '%s\n' "$pc" >"$tmp/$name.pc"

cat >"$tmp/module.modulemap" <<'EOF'
module Ftpc {
    header "ftpc.h"
    link "ftpc"
    export *
}
EOF

install -d -m 0755 "$D$libdir" "$D$libdir/pkgconfig" "$D$includedir"
install -m 0755 "$out/lib$name.so" "$D$libdir/$realname"
ln -sfn "$realname" "$D$libdir/$soname"
ln -sfn "$soname" "$D$libdir/lib$name.so"
install -m 0644 "$out/lib$name.a" "$D$libdir/lib$name.a"
install -m 0644 "$tmp/$name.pc" "$D$libdir/pkgconfig/$name.pc"
install -m 0644 include/ftpc.h "$D$includedir/ftpc.h"
install -m 0644 "$tmp/module.modulemap" "$D$includedir/module.modulemap"

note "installed $name $version into ${D}$prefix:"
for f in "$D$libdir/$realname" "$D$libdir/$soname" "$D$libdir/lib$name.so" "$D$libdir/lib$name.a" \
         "$D$libdir/pkgconfig/$name.pc" "$D$includedir/ftpc.h" "$D$includedir/module.modulemap"; do
    if [ -L "$f" ]; then note "  $f -> $(readlink "$f")"; else note "  $f"; fi
done

# --- ldconfig ---------------------------------------------------------------------
system_libdir=no
case $libdir in /lib|/usr/lib|/lib64|/usr/lib64) system_libdir=yes ;; esac
if [ $system_libdir = no ] && grep -rqsxF -- "$libdir" /etc/ld.so.conf /etc/ld.so.conf.d/; then
    system_libdir=yes
fi
if [ $run_ldconfig = auto ] && [ -z "$D" ] && [ "$(id -u)" = 0 ] && [ $system_libdir = yes ] &&
        command -v ldconfig >/dev/null 2>&1; then
    ldconfig
    note "ran ldconfig"
elif [ $system_libdir = no ] && [ -z "$D" ]; then
    note "$libdir is not in the dynamic linker's path: use LD_LIBRARY_PATH=$libdir or -Wl,-rpath,$libdir"
fi
note "use: PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs ftpc"
