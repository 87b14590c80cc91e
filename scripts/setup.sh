#!/usr/bin/env bash
# Installs what ftpc's build, tests, demo and benchmarks need on Debian 12.
# Run as root; no stdin needed (CI=true).  Idempotent: a second run only
# checks and prints one line.
#
#  - Debian packages (toolchain, OpenSSL, clients for manual checks, the
#    shared libraries of the FTP servers, Go/Ruby for the bindings)
#  - vsftpd 3.0.3, pure-ftpd 1.0.50, ProFTPD 1.3.8 (proftpd-core and
#    proftpd-mod-crypto, where mod_tls lives) and GNU inetutils ftpd 2.4 (a
#    classic BSD ftpd) unpacked under /opt/ftpc-deps: the Debian packages
#    conflict, and we only want the binaries, not services
#  - cbindgen and cargo-c (pinned) through cargo
#  - the system user the test servers log in as (ftpc / ftpc-pass)
set -euo pipefail

DEPS=/opt/ftpc-deps
CBINDGEN_VERSION=0.27.0
FTP_USER=ftpc
FTP_PASS=ftpc-pass
FTP_HOME=/home/ftpc

export DEBIAN_FRONTEND=noninteractive
say() { echo "setup.sh: $*"; }
die() { echo "setup.sh: error: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"

APT_PACKAGES=(
    build-essential pkg-config libssl-dev openssl ca-certificates clang
    valgrind curl lftp python3 iproute2 procps util-linux mount passwd
    # runtime libraries of the unpacked vsftpd / pure-ftpd (checked with ldd below)
    libpam0g libpam-modules libpam-runtime libcap2 libsodium23 libwrap0 libssl3 libcrypt1
    # ... of ProFTPD (and mod_tls), and of inetutils ftpd
    libacl1 libhiredis0.14 libidn2-0 libmemcached11 libmemcachedutil2 libpcre2-8-0
    libpcre2-posix3 zlib1g libncursesw6 libtinfo6 libnsl2 libtirpc3
    # later bindings; CPython's test_ftplib, run against the Python binding
    golang-go ruby ruby-ffi libpython3.11-testsuite
    # packaging checks (scripts/test-packaging.sh): CMake and Meson consumers, venvs
    cmake meson python3-venv
    # the libuv example of the multi handle (examples-c/multi_libuv.c)
    libuv1-dev
)

# Run a command quietly; show its output only if it fails.
quiet() {
    local log rc=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc)); then cat "$log" >&2; fi
    rm -f "$log"
    return "$rc"
}

apt_updated=0
apt_update_once() {
    if [[ $apt_updated == 0 ]]; then
        quiet apt-get update
        apt_updated=1
    fi
}

# --- Debian packages --------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    # "ii " = installed and configured; anything else gets (re)installed
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == "ii " ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt_update_once
    quiet apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- FTP server binaries -------------------------------------------------------
# Unpack a .deb into $DEPS/<pkg>.  The marker records the version so a stale
# or half-finished extraction is redone.
extract_pkg() {  # package relative-path... (executables; *.so: shared objects)
    local pkg=$1; shift
    local dest=$DEPS/$pkg marker=$DEPS/$pkg/.ftpc-extracted b ok=1
    if [[ -f $marker ]]; then
        for b in "$@"; do
            if [[ $b == *.so ]]; then [[ -f $dest/$b ]] || ok=0; else [[ -x $dest/$b ]] || ok=0; fi
        done
        [[ $ok == 1 ]] && return 0
    fi
    say "unpacking $pkg into $dest"
    local tmp; tmp=$(mktemp -d)
    # apt-get download runs as _apt: give it a directory it may write to
    if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
    # A fresh machine may have no package lists yet: update and retry once.
    if ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
        apt_update_once
        (cd "$tmp" && quiet apt-get download "$pkg") || die "apt-get download $pkg failed"
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    dpkg-deb -x "$tmp"/"$pkg"_*.deb "$dest"
    dpkg-deb -f "$tmp"/"$pkg"_*.deb Version > "$marker"
    rm -rf "$tmp"
}
extract_pkg vsftpd usr/sbin/vsftpd
extract_pkg pure-ftpd usr/sbin/pure-ftpd usr/bin/pure-pw
extract_pkg proftpd-core usr/sbin/proftpd
extract_pkg proftpd-mod-crypto usr/lib/proftpd/mod_tls.so
extract_pkg inetutils-ftpd usr/sbin/ftpd
# mod_tls must come from the same build as the core (ProFTPD refuses other modules):
# when the candidate version moved between two runs, unpack both again.
if [[ $(cat "$DEPS/proftpd-core/.ftpc-extracted") != $(cat "$DEPS/proftpd-mod-crypto/.ftpc-extracted") ]]; then
    rm -f "$DEPS/proftpd-core/.ftpc-extracted" "$DEPS/proftpd-mod-crypto/.ftpc-extracted"
    extract_pkg proftpd-core usr/sbin/proftpd
    extract_pkg proftpd-mod-crypto usr/lib/proftpd/mod_tls.so
    [[ $(cat "$DEPS/proftpd-core/.ftpc-extracted") == $(cat "$DEPS/proftpd-mod-crypto/.ftpc-extracted") ]] ||
        die "proftpd-core and proftpd-mod-crypto have different versions"
fi

for b in "$DEPS/vsftpd/usr/sbin/vsftpd" "$DEPS/pure-ftpd/usr/sbin/pure-ftpd" "$DEPS/pure-ftpd/usr/bin/pure-pw" \
    "$DEPS/proftpd-core/usr/sbin/proftpd" "$DEPS/proftpd-mod-crypto/usr/lib/proftpd/mod_tls.so" \
    "$DEPS/inetutils-ftpd/usr/sbin/ftpd"; do
    if ldd "$b" | grep -q 'not found'; then
        ldd "$b" >&2
        die "$b has unresolved shared libraries (add the package to APT_PACKAGES)"
    fi
done

# --- cbindgen ----------------------------------------------------------------
CARGO_BIN=${CARGO_HOME:-${HOME:-/root}/.cargo}/bin
export PATH="$CARGO_BIN:$PATH"
if [[ $(cbindgen --version 2>/dev/null) != "cbindgen $CBINDGEN_VERSION" ]]; then
    command -v cargo >/dev/null || die "cargo not found (a Rust toolchain is expected on this machine)"
    say "installing cbindgen $CBINDGEN_VERSION (takes a few minutes)"
    quiet cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --force ||
        die "cargo install cbindgen $CBINDGEN_VERSION failed"
    [[ $(cbindgen --version) == "cbindgen $CBINDGEN_VERSION" ]] || die "cbindgen version mismatch after install"
fi

# --- cargo-c -----------------------------------------------------------------
# `cargo cinstall` builds and installs the C library ([package.metadata.capi] in
# Cargo.toml). Debian 12's cargo-c (0.9.14, built on cargo 0.66) cannot: it reads the
# crate index over git from a host this machine does not reach (the sparse protocol
# was unstable in cargo 0.66), `cargo cinstall --debug` panics in its argument parser,
# and it would name the library libftpc.so.0 (libftpc.so.0.MINOR for 0.x versions came
# with cargo-c 0.9.28).
CARGO_C_VERSION=0.10.20
if [[ $(cargo cinstall --version 2>/dev/null) != "cargo-c $CARGO_C_VERSION+"* ]]; then
    command -v cargo >/dev/null || die "cargo not found (a Rust toolchain is expected on this machine)"
    # --debug: compiled without optimisation, in about 4 minutes on 2 cores instead of 11;
    # cargo-c's own work is small (about a second per call either way), rustc does the rest.
    say "installing cargo-c $CARGO_C_VERSION (takes about 4 minutes on 2 cores)"
    quiet cargo install cargo-c --version "$CARGO_C_VERSION" --locked --debug --force ||
        die "cargo install cargo-c $CARGO_C_VERSION failed"
    [[ $(cargo cinstall --version) == "cargo-c $CARGO_C_VERSION+"* ]] || die "cargo-c version mismatch after install"
fi

# --- test user -----------------------------------------------------------------
# vsftpd authenticates it through PAM (pam_unix); pure-ftpd maps its virtual
# user onto this uid.  /bin/bash must be in /etc/shells for FTP daemons that
# check the login shell.
grep -qx /bin/bash /etc/shells || echo /bin/bash >> /etc/shells
if ! id "$FTP_USER" >/dev/null 2>&1; then
    say "creating user $FTP_USER"
    useradd --create-home --home-dir "$FTP_HOME" --shell /bin/bash "$FTP_USER"
fi
[[ $(getent passwd "$FTP_USER" | cut -d: -f7) == /bin/bash ]] || usermod -s /bin/bash "$FTP_USER"
[[ $(getent passwd "$FTP_USER" | cut -d: -f6) == "$FTP_HOME" ]] || usermod -d "$FTP_HOME" "$FTP_USER"
if [[ ! -d $FTP_HOME ]]; then
    mkdir -p "$FTP_HOME"
    chown "$FTP_USER:" "$FTP_HOME"
fi
# Cheap and quiet; rewriting the hash also clears a lock ("!") someone set.
echo "$FTP_USER:$FTP_PASS" | chpasswd
# An expired account would make PAM's account check (pam_unix) fail.
chage -E -1 -M -1 "$FTP_USER"

v() { cat "$DEPS/$1/.ftpc-extracted"; }
say "ok (vsftpd $(v vsftpd), pure-ftpd $(v pure-ftpd), proftpd $(v proftpd-core), inetutils-ftpd $(v inetutils-ftpd), $(cbindgen --version), $(cargo cinstall --version))"
