#!/usr/bin/env bash
# Regenerate include/ftpc.h from the C layer (src/capi/) with the pinned
# cbindgen.
#
# Usage: scripts/gen-header.sh [--output FILE]
#   --output FILE   write there instead of include/ftpc.h (check-header.sh
#                   uses this)
#
# Environment:
#   CBINDGEN   cbindgen binary to use (default: `cbindgen` on PATH, else
#              $CARGO_HOME/bin/cbindgen)
#
# cbindgen is given the single source file src/capi/mod.rs rather than the
# whole crate: it follows that file's `mod` declarations, so the header holds
# exactly the C layer and nothing from the Rust core can leak into it.
# Install the pinned version with:
#   cargo install cbindgen --version 0.27.0 --locked
set -euo pipefail

readonly CBINDGEN_VERSION=0.27.0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
output=$root/include/ftpc.h

die() { echo "gen-header: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --output|-o) [ $# -ge 2 ] || die "$1 needs a file"; output=$2; shift 2 ;;
        --output=*) output=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

# --- find the pinned cbindgen ----------------------------------------------
cbindgen=${CBINDGEN:-}
if [ -z "$cbindgen" ]; then
    if command -v cbindgen >/dev/null 2>&1; then
        cbindgen=$(command -v cbindgen)
    elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen" ]; then
        cbindgen=${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen
    else
        die "cbindgen not found; install it with: cargo install cbindgen --version $CBINDGEN_VERSION --locked"
    fi
fi
have=$("$cbindgen" --version 2>/dev/null | head -n1 | awk '{print $NF}') || true
if [ "$have" != "$CBINDGEN_VERSION" ]; then
    die "$cbindgen is version '${have:-unknown}', but ftpc pins cbindgen $CBINDGEN_VERSION
  (other versions format the header differently). Install it with:
    cargo install cbindgen --version $CBINDGEN_VERSION --locked --force"
fi

src=$root/src/capi/mod.rs
[ -f "$src" ] || die "$src not found: the C layer must be the module src/capi/ with a mod.rs"

# --- generate ----------------------------------------------------------------
tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

cd "$root"
if ! "$cbindgen" --config cbindgen.toml --output "$tmpdir/ftpc.h" "$src" 2>"$tmpdir/log"; then
    cat "$tmpdir/log" >&2
    die "cbindgen failed"
fi
# References to OpenSSL's context type are unknown to cbindgen by design
# (renamed to `struct ssl_ctx_st` in cbindgen.toml); drop that warning, show
# any other one.
grep -v -E "Can't find (SSL_CTX|ssl_ctx_st)\." "$tmpdir/log" | sed '/^[[:space:]]*$/d; s/^/gen-header: cbindgen: /' >&2 || true

# --- sanity checks on the result ---------------------------------------------
# The version macros must be plain integers equal to Cargo.toml's version
# (cbindgen cannot read env!("CARGO_PKG_VERSION_*"), so src/capi spells them
# out; this catches a forgotten bump). FTPC_VERSION_STRING is built from them.
pkg_version=$(sed -n '/^\[package\]/,/^\[/ s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' Cargo.toml | head -n1)
[ -n "$pkg_version" ] || die "cannot read the package version from Cargo.toml"
IFS=. read -r want_major want_minor want_patch <<<"${pkg_version%%[-+]*}"
for part in MAJOR MINOR PATCH; do
    case $part in
        MAJOR) want=$want_major ;;
        MINOR) want=$want_minor ;;
        PATCH) want=$want_patch ;;
    esac
    got=$(sed -n "s/^#define FTPC_VERSION_$part \(.*\)$/\1/p" "$tmpdir/ftpc.h")
    if [ -z "$got" ]; then
        echo "gen-header: warning: src/capi defines no FTPC_VERSION_$part constant" >&2
    elif [ "$got" != "$want" ]; then
        die "FTPC_VERSION_$part is '$got' in the generated header but Cargo.toml says $pkg_version
  (write it in src/capi as a plain literal: pub const FTPC_VERSION_$part: u32 = $want;)"
    fi
done

# --- install the result --------------------------------------------------------
mkdir -p "$(dirname "$output")"
if [ -f "$output" ] && cmp -s "$tmpdir/ftpc.h" "$output"; then
    echo "gen-header: $output is up to date" >&2
else
    cp "$tmpdir/ftpc.h" "$output.tmp.$$"
    mv -f "$output.tmp.$$" "$output"
    echo "gen-header: wrote $output" >&2
fi
