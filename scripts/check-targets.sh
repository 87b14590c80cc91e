#!/usr/bin/env bash
# Type-checks the library's Rust code for the other systems it builds for (`cargo check
# --lib`, warnings are errors): x86_64-apple-darwin, aarch64-apple-darwin and
# x86_64-unknown-freebsd by default, or the targets given as arguments. Nothing is linked
# or run: those systems are not here.
#
# No standard library is shipped for those targets on this machine, so it is built from
# source (-Zbuild-std), which needs the standard library's source and a compiler of the
# very same version. Tried in this order:
#   1. the nightly toolchain with its rust-src component (`rustup component add`, which
#      needs rustup's own server);
#   2. Debian's rustc-web and rust-web-src (bookworm-security, one version), unpacked with
#      their libraries into /opt/ftpc-deps/rust-web-VERSION and never installed (the
#      machine's rustc stays rustup's), run with RUSTC_BOOTSTRAP=1 for the -Z flag;
#   3. neither: one line says why, and the step is skipped (exit 0).
# FTPC_CROSS_TOOLCHAIN=debian goes straight to the second.
#
# openssl-sys's build script runs for each target: it is pointed at the host's OpenSSL
# (OPENSSL_LIB_DIR, OPENSSL_INCLUDE_DIR; OPENSSL_NO_VENDOR=1), whose headers give it the
# version and the OPENSSL_NO_* settings it turns into cfg flags, read through the target's
# C compiler (CC_<target>=clang; the multiarch include directory holds opensslconf.h). The
# library directory is only looked at for libssl/libcrypto: nothing is linked.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH=$HOME/.cargo/bin:$PATH

targets=("$@")
((${#targets[@]})) || targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)

# --- a toolchain that can build std for a foreign target ---------------------------------
cargo_cmd=()
why_not_nightly=""
if [[ ${FTPC_CROSS_TOOLCHAIN:-} == debian ]]; then
    why_not_nightly="FTPC_CROSS_TOOLCHAIN=debian"
elif ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    why_not_nightly="no nightly toolchain"
elif rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
    cargo_cmd=(cargo +nightly)
elif timeout 120 rustup component add rust-src --toolchain nightly >/dev/null 2>&1; then
    cargo_cmd=(cargo +nightly)
else
    why_not_nightly="the nightly toolchain lacks rust-src and rustup could not install it (no route to its server?)"
fi

# Debian's rustc-web with its own standard library source, unpacked privately; prints the
# directory.
debian_toolchain() {
    local version dir tmp deb dep name
    version=$(apt-cache policy rustc-web 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [[ -z $version || $version == "(none)" ]]; then
        apt-get update -qq >/dev/null 2>&1 || true
        version=$(apt-cache policy rustc-web 2>/dev/null | awk '/Candidate:/ {print $2}')
    fi
    [[ -n $version && $version != "(none)" ]] || return 1
    dir=/opt/ftpc-deps/rust-web-$version
    if [[ ! -e $dir/.complete ]]; then
        rm -rf "$dir"
        tmp=$(mktemp -d)
        chmod 755 "$tmp"
        trap 'rm -rf "$tmp"' RETURN
        (cd "$tmp" && apt-get download -qq "rustc-web=$version" "rust-web-src=$version") >/dev/null 2>&1 || return 1
        # rustc-web -> libstd-rust-web-dev (the host's std, for build scripts and proc
        # macros) -> libstd-rust-web-X.Y (librustc_driver) -> libllvmN: each the version
        # the one before asks for.
        deb=$(echo "$tmp"/rustc-web_*.deb)
        for name in libstd-rust-web-dev 'libstd-rust-web-[0-9.]*' 'libllvm[0-9]*'; do
            dep=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//' | grep -m1 "^$name\( \|$\)") || return 1
            name=${dep%% *}
            if [[ $dep =~ \(=\ ([^\)]+)\) ]]; then dep="$name=${BASH_REMATCH[1]}"; else dep=$name; fi
            (cd "$tmp" && apt-get download -qq "$dep") >/dev/null 2>&1 || return 1
            deb=$(echo "$tmp/${name}"_*.deb)
        done
        mkdir -p "$dir"
        for deb in "$tmp"/*.deb; do
            case $deb in
            */rust-web-src_*)
                # Of the whole source, only the standard library and its vendored crates.
                dpkg-deb --fsys-tarfile "$deb" |
                    tar -x -C "$dir" --wildcards './usr/src/rustc-*/library' './usr/lib/rustlib/src/rust'
                ;;
            *) dpkg-deb -x "$deb" "$dir" ;;
            esac
        done
        touch "$dir/.complete"
    fi
    echo "$dir"
}

if ((${#cargo_cmd[@]})); then
    echo "toolchain: $(rustc +nightly -V) with rust-src"
else
    dir=$(debian_toolchain) || dir=""
    if [[ -n $dir ]]; then
        export RUSTC=$dir/usr/bin/rustc RUSTC_BOOTSTRAP=1
        export LD_LIBRARY_PATH=$dir/usr/lib/$(gcc -print-multiarch)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    fi
    if [[ -n $dir ]] && "$RUSTC" -V >/dev/null 2>&1; then
        cargo_cmd=(cargo)
        echo "toolchain: $why_not_nightly; using Debian's $("$RUSTC" -V) with its rust-web-src ($dir)"
    else
        echo "skipped: $why_not_nightly, and Debian's rustc-web with rust-web-src could not be fetched or run"
        exit 0
    fi
fi

# --- the checks ----------------------------------------------------------------------------
multiarch=$(gcc -print-multiarch)
export OPENSSL_LIB_DIR=/usr/lib/$multiarch OPENSSL_INCLUDE_DIR=/usr/include OPENSSL_NO_VENDOR=1
export CARGO_TARGET_DIR=$repo/target/cross-check
failed=()
for t in "${targets[@]}"; do
    tu=${t//-/_}
    log=$(mktemp)
    if env "CC_$tu=clang" "CFLAGS_$tu=-I/usr/include/$multiarch" \
        "${cargo_cmd[@]}" check --locked -Zbuild-std=std,panic_unwind --target "$t" --lib >"$log" 2>&1 &&
        ! grep -q '^warning: `ftpc`' "$log"; then
        echo "$t: ok"
    else
        grep -E '^(error|warning)' -A12 "$log" | grep -v '^--$' | head -80 || tail -40 "$log"
        echo "$t: FAILED"
        failed+=("$t")
    fi
    rm -f "$log"
done
((${#failed[@]} == 0))
