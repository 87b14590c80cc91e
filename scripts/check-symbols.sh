#!/usr/bin/env bash
# Check an installed ftpc library directory (as made by `cargo cinstall`, see
# [package.metadata.capi] in Cargo.toml).
#
# Usage: scripts/check-symbols.sh [--no-pkgconfig] [--stripped] LIBDIR
#
# Fails if
#   * LIBDIR/libftpc.so exports (nm -D --defined-only) any symbol whose name
#     does not start with ftp_;
#   * its SONAME (readelf -d) is not the one for the package version (from
#     `cargo metadata`): libftpc.so.0.MINOR while the major version is 0, else
#     libftpc.so.MAJOR; or libftpc.so and the SONAME are not links to the real
#     file libftpc.so.MAJOR.MINOR.PATCH (skipped for a cargo target directory,
#     where libftpc.so is the real file);
#   * with --stripped: the library has a symbol table or debug sections left;
#   * `pkg-config --static --libs ftpc`, using LIBDIR/pkgconfig/ftpc.pc and
#     nothing else, lacks -lssl or -lcrypto, or ftpc.pc's version is not the
#     package's (skipped with --no-pkgconfig, e.g. for a cargo target directory);
#   * the header that ftpc.pc's Cflags point to (DIR/ftpc.h for -IDIR) is
#     missing, has no module.modulemap beside it, or disagrees with the library:
#     an exported function that the header does not declare, or a declared
#     function that the library does not export.
set -euo pipefail

die() { echo "check-symbols: error: $*" >&2; exit 1; }

check_pc=yes
stripped=no
libdir=
while [ $# -gt 0 ]; do
    case $1 in
        --no-pkgconfig) check_pc=no; shift ;;
        --stripped) stripped=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [ -z "$libdir" ] || die "only one LIBDIR"; libdir=$1; shift ;;
    esac
done
[ -n "$libdir" ] || die "usage: scripts/check-symbols.sh [--no-pkgconfig] [--stripped] LIBDIR"
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
version=$(cargo metadata --no-deps --offline --format-version 1 --manifest-path "$root/Cargo.toml" |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "ftpc"))') ||
    die "cannot read the package version with cargo metadata"
IFS=. read -r major minor patch <<<"${version%%[-+]*}"
if [ "$major" -gt 0 ]; then want_soname=libftpc.so.$major; else want_soname=libftpc.so.0.$minor; fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
    fail "SONAME of $lib is '${soname:-none}', expected $want_soname"
else
    echo "check-symbols: SONAME $soname"
fi
if [ -L "$lib" ]; then
    realname=libftpc.so.$major.$minor.$patch
    [ -f "$libdir/$realname" ] && [ ! -L "$libdir/$realname" ] || fail "$libdir/$realname is not a file"
    for link in "$lib" "$libdir/$want_soname"; do
        [ "$(realpath "$link" 2>/dev/null)" = "$(realpath "$libdir/$realname")" ] ||
            fail "$link should be a link to $realname"
    done
fi

# --- stripped ---------------------------------------------------------------------------
if [ $stripped = yes ]; then
    sections=$(readelf -S -W "$lib" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p')
    left=$(grep -E '^(\.symtab|\.debug_.*|\.zdebug_.*)$' <<<"$sections" | paste -sd' ' - || true)
    if [ -n "$left" ]; then
        fail "$lib is not stripped: $left"
    else
        echo "check-symbols: stripped (no .symtab, no debug sections)"
    fi
fi

# --- pkg-config -----------------------------------------------------------------------
header=
if [ $check_pc = yes ]; then
    pcdir=$libdir/pkgconfig
    # Only our .pc file: PKG_CONFIG_LIBDIR replaces the default search path.
    pc() { PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' pkg-config "$@"; }
    if [ ! -f "$pcdir/ftpc.pc" ]; then
        fail "$pcdir/ftpc.pc does not exist"
    else
        static_libs=$(pc --static --libs ftpc) || fail "pkg-config --static --libs ftpc failed"
        for l in -lssl -lcrypto; do
            case " $static_libs " in
                *" $l "*) ;;
                *) fail "pkg-config --static --libs ftpc lacks $l: $static_libs" ;;
            esac
        done
        echo "check-symbols: pkg-config --static --libs ftpc: $static_libs"
        pc_version=$(pc --modversion ftpc) || true
        [ "$pc_version" = "$version" ] || fail "ftpc.pc has version '$pc_version', the package $version"
        # The header is in the one -I directory of Cflags.
        incdir=$(pc --cflags-only-I ftpc | sed 's/^ *-I//; s/ *$//')
        header=$incdir/ftpc.h
        [ -f "$header" ] || fail "no $header (Cflags: $(pc --cflags ftpc))"
        [ -f "$incdir/module.modulemap" ] || fail "no $incdir/module.modulemap beside the header"
    fi
fi

# --- header against library -------------------------------------------------------------
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
