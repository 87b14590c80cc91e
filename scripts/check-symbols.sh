#!/usr/bin/env bash
# Check an installed ftpc library directory (as made by scripts/install.sh).
#
# Usage: scripts/check-symbols.sh [--no-pkgconfig] LIBDIR
#
# Fails if
#   * LIBDIR/libftpc.so exports (nm -D --defined-only) any symbol whose name
#     does not start with ftp_;
#   * its SONAME (readelf -d) is not the one derived from Cargo.toml's
#     version (libftpc.so.0.MINOR while the major version is 0, else
#     libftpc.so.MAJOR);
#   * `pkg-config --static --libs ftpc`, using LIBDIR/pkgconfig/ftpc.pc and
#     nothing else, lacks -lssl or -lcrypto (skipped with --no-pkgconfig, e.g.
#     for a cargo target directory);
#   * the header named by the .pc file's includedir (ftpc.h) and the library
#     disagree: an exported function that the header does not declare, or a
#     declared function that the library does not export.
set -euo pipefail

die() { echo "check-symbols: error: $*" >&2; exit 1; }

check_pc=yes
libdir=
while [ $# -gt 0 ]; do
    case $1 in
        --no-pkgconfig) check_pc=no; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [ -z "$libdir" ] || die "only one LIBDIR"; libdir=$1; shift ;;
    esac
done
[ -n "$libdir" ] || die "usage: scripts/check-symbols.sh [--no-pkgconfig] LIBDIR"
lib=$libdir/libftpc.so
[ -e "$lib" ] || die "$lib does not exist"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
failed=0
fail() { echo "check-symbols: FAIL: $*" >&2; failed=1; }

# --- exported symbols ---------------------------------------------------------
# Defined dynamic symbols, without any @VERSION suffix.
exported=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {sub(/@.*/, "", $3); print $3}' | sort -u)
[ -n "$exported" ] || fail "$lib exports no symbols at all"
bad=$(grep -v '^ftp_' <<<"$exported" || true)
if [ -n "$bad" ]; then
    fail "$lib exports symbols outside the ftp_ namespace:
$(sed 's/^/    /' <<<"$bad")"
fi
echo "check-symbols: $(grep -c . <<<"$exported") exported symbols"

# --- SONAME -------------------------------------------------------------------------
version=$(sed -n '/^\[package\]/,/^\[/ s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n1)
[ -n "$version" ] || die "cannot read the package version from $root/Cargo.toml"
IFS=. read -r major minor _ <<<"${version%%[-+]*}"
if [ "$major" -gt 0 ]; then want_soname=libftpc.so.$major; else want_soname=libftpc.so.0.$minor; fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
    fail "SONAME of $lib is '${soname:-none}', expected $want_soname"
else
    echo "check-symbols: SONAME $soname"
fi

# --- pkg-config -----------------------------------------------------------------------
includedir=
if [ $check_pc = yes ]; then
    pcdir=$libdir/pkgconfig
    if [ ! -f "$pcdir/ftpc.pc" ]; then
        fail "$pcdir/ftpc.pc does not exist"
    else
        # Only our .pc file: PKG_CONFIG_LIBDIR replaces the default search path.
        static_libs=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' pkg-config --static --libs ftpc) ||
            fail "pkg-config --static --libs ftpc failed"
        for l in -lssl -lcrypto; do
            case " $static_libs " in
                *" $l "*) ;;
                *) fail "pkg-config --static --libs ftpc lacks $l: $static_libs" ;;
            esac
        done
        echo "check-symbols: pkg-config --static --libs ftpc: $static_libs"
        includedir=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' pkg-config --variable=includedir ftpc) || true
    fi
fi

# --- header against library -------------------------------------------------------------
header=${includedir:+$includedir/ftpc.h}
if [ -n "$header" ] && [ -f "$header" ]; then
    # Function names declared in the header: strip comments and preprocessor
    # lines, split into declarations at ';', keep NAME in "... NAME(...)".
    declared=$(perl -0777 -ne '
        s{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{^\s*#[^\n]*(?:\\\n[^\n]*)*}{}mg;
        s/\bextern\s+"C"\s*\{//g;
        for my $d (split /[;{}]/) {
            next if $d =~ /\btypedef\b/;
            # first NAME followed by "(" but not by "(*" (function pointers)
            print "$1\n" if $d =~ /([A-Za-z_]\w*)\s*\((?!\s*\*)/s;
        }' "$header" | sort -u)
    missing=$(comm -23 <(grep '^ftp_' <<<"$exported" || true) <(printf '%s\n' "$declared"))
    [ -z "$missing" ] || fail "exported but not declared in $header:
$(sed 's/^/    /' <<<"$missing")"
    undefined=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared" | sed '/^$/d'))
    [ -z "$undefined" ] || fail "declared in $header but not exported by $lib:
$(sed 's/^/    /' <<<"$undefined")"
    echo "check-symbols: $(grep -c . <<<"$declared") functions declared in $header"
fi

if [ $failed -ne 0 ]; then
    echo "check-symbols: FAILED" >&2
    exit 1
fi
echo "check-symbols: OK"
