#!/usr/bin/env bash
# Start/stop the real FTP servers that ftpc's integration tests talk to.
#
# Usage: tests/servers/servers.sh start|stop|status [STATE_DIR]
#        (STATE_DIR defaults to <repo>/target/ftp-servers)
#
# Needs root and scripts/setup.sh (binaries in /opt/ftpc-deps, user ftpc).
# Everything listens on loopback only, on fixed ports:
#
#   instance          address            port  passive ports  notes
#   vsftpd            127.0.0.1          2121  30000-30099    plain FTP
#   vsftpd6           ::1                2122  30100-30199    plain FTP over IPv6
#   vsftpd-tls        127.0.0.1          2123  30200-30299    explicit FTPS (AUTH TLS required
#                                                             for login, PROT C allowed,
#                                                             require_ssl_reuse=YES)
#   vsftpd-implicit   127.0.0.1          2990  30300-30399    implicit FTPS, require_ssl_reuse=YES
#   pureftpd          127.0.0.1 and ::1  2124  30400-30499    pure-ftpd, TLS optional (-Y 1),
#                                                             chrooted PureDB virtual user
#   proftpd           127.0.0.1 and ::1  2125  30500-30599    ProFTPD 1.3.8, plain FTP (no TLS)
#   proftpd-tls       127.0.0.1          2126  30600-30699    ProFTPD explicit FTPS (TLSRequired
#                                                             auth: AUTH TLS needed for login, PROT C
#                                                             allowed; data connections must reuse
#                                                             the control session, the default)
#   proftpd-implicit  127.0.0.1          2991  30700-30799    ProFTPD implicit FTPS, reuse required
#   vsftpd-capped     127.0.0.1          2128  30800-30899    plain FTP, each session's transfers
#                                                             capped at 2 MiB/s (local_max_rate):
#                                                             segmented downloads
#   bsd-ftpd          127.0.0.1 and ::1  2127  (ephemeral)    GNU inetutils ftpd 2.4 (classic BSD
#                                                             ftpd: ABOR by SIGURG, no MLSD, no
#                                                             TLS, no UTF8), run per connection
#                                                             by tests/servers/inetd.py
#
# All instances: user ftpc / ftpc-pass, anonymous login off, uploads allowed,
# active mode (PORT/EPRT) allowed.  Each instance serves its own directory
# STATE_DIR/home/<instance> (owned by ftpc, recreated on every start, holding
# hello.txt = "hello from <server>\n": vsftpd, pure-ftpd, proftpd, bsd-ftpd).
# vsftpd and bsd-ftpd show real paths (no chroot: PWD is the full path of the
# home); pure-ftpd and ProFTPD (DefaultRoot) chroot, so their PWD is "/".
# ProFTPD runs as one standalone process (the three listeners are its main
# server and two <VirtualHost>s, SocketBindTight so only loopback is bound),
# mod_tls loaded from /opt/ftpc-deps/proftpd-mod-crypto, logs in STATE_DIR/logs.
# bsd-ftpd takes passive ports from the kernel's ephemeral range (it has no
# setting for a range), and runs in a private mount namespace (unshare -m) in
# which /etc is a copy whose passwd gives ftpc its instance home (ftpd logs in
# to the passwd home) and /var/log/wtmp is /dev/null; no system file changes.
#
# `start` writes STATE_DIR/env (shell `export` lines; source it in tests),
# `stop` removes it.  Processes are tracked by pid files in STATE_DIR/run and
# only those are ever killed.  Logs: STATE_DIR/logs.
set -euo pipefail

DEPS=/opt/ftpc-deps
VSFTPD=$DEPS/vsftpd/usr/sbin/vsftpd
PUREFTPD=$DEPS/pure-ftpd/usr/sbin/pure-ftpd
PUREPW=$DEPS/pure-ftpd/usr/bin/pure-pw
PROFTPD=$DEPS/proftpd-core/usr/sbin/proftpd
PROFTPD_MODULES=$DEPS/proftpd-mod-crypto/usr/lib/proftpd
BSDFTPD=$DEPS/inetutils-ftpd/usr/sbin/ftpd
# Debian's interpreter, not whatever python3 comes first in PATH (ours() checks the exe).
PYTHON=/usr/bin/python3
FTP_USER=ftpc
FTP_PASS=ftpc-pass
PAM_SERVICE=ftpc-vsftpd

# FTPC_SERVERS_PORT_OFFSET shifts every port (control and passive) so that a second set of
# servers (a fresh clone's test run, the benchmarks) can run beside the first.
off=${FTPC_SERVERS_PORT_OFFSET:-0}
PORT_VSFTPD=$((2121 + off))
PORT_VSFTPD6=$((2122 + off))
PORT_VSFTPD_TLS=$((2123 + off))
PORT_VSFTPD_IMPLICIT=$((2990 + off))
PORT_PUREFTPD=$((2124 + off))
PORT_PROFTPD=$((2125 + off))
PORT_PROFTPD_TLS=$((2126 + off))
PORT_PROFTPD_IMPLICIT=$((2991 + off))
PORT_BSDFTPD=$((2127 + off))
PORT_VSFTPD_CAPPED=$((2128 + off))
# Bytes per second each session of vsftpd-capped may move.
CAPPED_RATE=2097152
PASV=$((30000 + off))

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
INETD=$here/inetd.py

cmd=${1:-}
STATE=$(realpath -m "${2:-$repo/target/ftp-servers}")
RUN=$STATE/run
LOGS=$STATE/logs
CONF=$STATE/conf

say() { echo "servers.sh: $*"; }
die() { echo "servers.sh: error: $*" >&2; exit 1; }

# --- stop --------------------------------------------------------------------

# A pid file is only trusted if that pid still runs one of our binaries with
# its stdout (or stderr) on this STATE_DIR's log (guards against pid reuse; pure-ftpd
# rewrites its command line, so that can't be used).  The bsd-ftpd launcher
# is Debian's python3 running our inetd.py.
ours() {
    local pid=$1 exe out
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    # A binary replaced on disk while it runs (a package upgrade) reads "PATH (deleted)".
    exe=${exe% (deleted)}
    if [[ $exe == "$(readlink -f "$PYTHON")" ]]; then
        tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$INETD" || return 1
    else
        [[ $exe == "$VSFTPD" || $exe == "$PUREFTPD" || $exe == "$PROFTPD" ]] || return 1
    fi
    # ProFTPD reuses fds 0 and 1 for its listeners; its stderr stays on the log.
    local fd
    for fd in 1 2; do
        out=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null) || continue
        [[ $out == "$LOGS/"* ]] && return 0
    done
    return 1
}

descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1"); do
        echo "$c"
        descendants "$c"
    done
}

stop_all() {
    local f pid pids kids p i alive
    shopt -s nullglob
    for f in "$RUN"/*.pid; do
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
            # vsftpd puts every client session in its own session (setsid),
            # so a process-group kill would miss them: collect the tree while
            # the listener is frozen (no new forks), then signal all of it.
            kill -STOP "$pid" 2>/dev/null || true
            mapfile -t kids < <(descendants "$pid")
            pids=("$pid" "${kids[@]}")
            kill -TERM "${pids[@]}" 2>/dev/null || true
            kill -CONT "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                alive=()
                for p in "${pids[@]}"; do
                    # zombies count as gone
                    if [[ $(ps -o stat= -p "$p" 2>/dev/null) == [^Z]* ]]; then alive+=("$p"); fi
                done
                ((${#alive[@]})) || break
                sleep 0.1
            done
            if ((${#alive[@]})); then kill -KILL "${alive[@]}" 2>/dev/null || true; fi
            say "stopped $(basename "$f" .pid) (pid $pid)"
        fi
        rm -f "$f"
    done
    shopt -u nullglob
    rm -f "$STATE/env" "$RUN"/*.self-pid
}

# --- start -------------------------------------------------------------------

preflight() {
    [[ $(id -u) == 0 ]] || die "must run as root (servers bind, chroot and switch users)"
    local b
    for b in "$VSFTPD" "$PUREFTPD" "$PUREPW" "$PROFTPD" "$BSDFTPD" "$PYTHON"; do
        [[ -x $b ]] || die "$b missing: run scripts/setup.sh"
    done
    [[ -f $PROFTPD_MODULES/mod_tls.so ]] || die "$PROFTPD_MODULES/mod_tls.so missing: run scripts/setup.sh"
    id "$FTP_USER" >/dev/null 2>&1 || die "user $FTP_USER missing: run scripts/setup.sh"
    command -v openssl >/dev/null || die "openssl missing: run scripts/setup.sh"
    command -v unshare >/dev/null || die "unshare missing: run scripts/setup.sh"
    unshare -m true 2>/dev/null || die "unshare -m fails (no mount namespaces here): bsd-ftpd needs one"
    local port
    for port in $PORT_VSFTPD $PORT_VSFTPD6 $PORT_VSFTPD_TLS $PORT_VSFTPD_IMPLICIT $PORT_PUREFTPD \
        $PORT_PROFTPD $PORT_PROFTPD_TLS $PORT_PROFTPD_IMPLICIT $PORT_BSDFTPD $PORT_VSFTPD_CAPPED; do
        if [[ -n $(ss -Hltn "sport = :$port") ]]; then
            ss -ltnp "sport = :$port" >&2 || true
            die "port $port is already in use by a process this script did not start"
        fi
    done
}

have_ipv6() { ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'; }

# Per-instance homes must be reachable by the ftpc user after vsftpd drops
# root.  A checkout under a private directory (e.g. 0700 /root) is not, so
# then the homes live under /home/ftpc and STATE_DIR/home is a symlink there.
setup_homes() {
    local root=$STATE/home
    rm -rf "$root"
    mkdir -p "$root"
    chmod 755 "$root"
    if ! runuser -u "$FTP_USER" -- test -x "$root"; then
        rmdir "$root"
        local alt; alt=/home/$FTP_USER/ftp-servers/$(printf %s "$STATE" | cksum | cut -d' ' -f1)
        rm -rf "$alt"
        mkdir -p "$alt"
        chmod 755 "/home/$FTP_USER" "/home/$FTP_USER/ftp-servers" "$alt"
        ln -sfn "$alt" "$root"
        root=$alt
    fi
    HOME_ROOT=$root
    local inst server
    for inst in vsftpd vsftpd6 vsftpd-tls vsftpd-implicit vsftpd-capped pureftpd proftpd proftpd-tls proftpd-implicit bsd-ftpd; do
        case $inst in
            vsftpd*) server=vsftpd ;;
            pureftpd) server=pure-ftpd ;;
            proftpd*) server=proftpd ;;
            bsd-ftpd) server=bsd-ftpd ;;
        esac
        mkdir -p "$root/$inst"
        printf 'hello from %s\n' "$server" > "$root/$inst/hello.txt"
        chown -R "$FTP_USER:" "$root/$inst"
        chmod 755 "$root/$inst"
        chmod 644 "$root/$inst/hello.txt"
    done
}

# Local users log in to vsftpd through PAM; a dedicated service keeps the
# distribution's vsftpd rules (ftpusers, pam_shells) out of the way.
install_pam_service() {
    local f=/etc/pam.d/$PAM_SERVICE content
    content=$'# Installed by ftpc tests/servers/servers.sh for the test vsftpd instances.\nauth     required pam_unix.so\naccount  required pam_unix.so\nsession  required pam_permit.so'
    if [[ ! -f $f || $(cat "$f") != "$content" ]]; then
        printf '%s\n' "$content" > "$f"
    fi
}

# Writes $CONF/<inst>.conf; extra lines come on stdin.
vsftpd_conf() {  # inst port pasv_min pasv_max
    local inst=$1 port=$2 pmin=$3 pmax=$4
    {
        cat <<EOF
# Generated by tests/servers/servers.sh ($inst)
listen_port=$port
# The script backgrounds and tracks the process itself.
background=NO
# Sandboxes that lack namespaces / seccomp support break vsftpd's isolation.
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$STATE/vsftpd-empty
pam_service_name=$PAM_SERVICE
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=NO
local_root=$HOME_ROOT/$inst
utf8_filesystem=YES
pasv_enable=YES
pasv_min_port=$pmin
pasv_max_port=$pmax
port_enable=YES
connect_from_port_20=NO
max_clients=500
max_per_ip=0
# Tests exercise failed logins; don't make them slow.
delay_failed_login=0
delay_successful_login=0
ftpd_banner=ftpc test server ($inst, vsftpd 3.0.3)
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$LOGS/$inst.vsftpd.log
EOF
        cat
    } > "$CONF/$inst.conf"
    chmod 600 "$CONF/$inst.conf"
}

tls_lines() {
    cat <<EOF
ssl_enable=YES
rsa_cert_file=$STATE/certs/server.pem
rsa_private_key_file=$STATE/certs/server.key
# 3.0.3's default (DES-CBC3-SHA) is refused by OpenSSL 3.  TLS 1.3 suites are
# configured separately by OpenSSL and stay enabled.
ssl_ciphers=HIGH
ssl_sslv2=NO
ssl_sslv3=NO
# ssl_tlsv1 only governs TLS 1.0; 1.1-1.3 are left to OpenSSL (3.0.3 has no
# ssl_tlsv1_1 / ssl_tlsv1_2 options).
ssl_tlsv1=NO
require_ssl_reuse=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
# Let clients pick PROT C or PROT P.
force_local_data_ssl=NO
# Ask for a client certificate (tests may send client.pem) without requiring one.
ssl_request_cert=YES
require_cert=NO
validate_cert=NO
ca_certs_file=$STATE/certs/ca.pem
EOF
}

# One ProFTPD process: the main server is the plain instance (on 127.0.0.1,
# and ::1 when $1 is 1), two <VirtualHost>s the FTPS instances.
proftpd_conf() {  # ipv6
    local addrs=127.0.0.1 certs=$STATE/certs pdir=$STATE/proftpd
    if [[ $1 == 1 ]]; then addrs="127.0.0.1 ::1"; fi
    # <Global> settings apply to the main server and both virtual hosts.
    cat > "$CONF/proftpd.conf" <<EOF
# Generated by tests/servers/servers.sh (proftpd, proftpd-tls, proftpd-implicit)
ServerType standalone
ServerName "ftpc test server"
ServerIdent on "ftpc test server (proftpd, ProFTPD 1.3.8)"
# Only the loopback addresses named here, never the wildcard address.
SocketBindTight on
DefaultAddress $addrs
Port $PORT_PROFTPD
PassivePorts $((PASV + 500)) $((PASV + 599))
# The daemon drops to nobody; a session runs as the user who logged in.
User nobody
Group nogroup
PidFile $RUN/proftpd.self-pid
ScoreboardFile $pdir/proftpd.scoreboard
ModulePath $PROFTPD_MODULES
LoadModule mod_tls.c
ControlsEngine off
# No delay on failed or successful logins (tests exercise both).
DelayEngine off
WtmpLog off
UseReverseDNS off
UseLastlog off
SystemLog $LOGS/proftpd.system.log
TransferLog $LOGS/proftpd.xfer.log
LogFormat commands "%t %a %p %P \"%r\" %s"
MaxInstances 200

<Global>
  # Local users from /etc/passwd and /etc/shadow, no PAM (no ftp PAM service needed).
  AuthPAM off
  AuthOrder mod_auth_unix.c
  UseFtpUsers off
  RequireValidShell on
  Umask 022
  AllowOverwrite on
  AllowStoreRestart on
  AllowRetrieveRestart on
  MaxLoginAttempts 10
  ExtendedLog $LOGS/proftpd.commands.log ALL commands
</Global>

# The plain instance: no AUTH TLS.
DefaultRoot $HOME_ROOT/proftpd
TLSEngine off

<VirtualHost 127.0.0.1>
  Port $PORT_PROFTPD_TLS
  ServerIdent on "ftpc test server (proftpd-tls, ProFTPD 1.3.8)"
  PassivePorts $((PASV + 600)) $((PASV + 699))
  DefaultRoot $HOME_ROOT/proftpd-tls
$(proftpd_tls_lines proftpd-tls)
</VirtualHost>

<VirtualHost 127.0.0.1>
  Port $PORT_PROFTPD_IMPLICIT
  ServerIdent on "ftpc test server (proftpd-implicit, ProFTPD 1.3.8)"
  PassivePorts $((PASV + 700)) $((PASV + 799))
  DefaultRoot $HOME_ROOT/proftpd-implicit
$(proftpd_tls_lines proftpd-implicit)
  TLSOptions UseImplicitSSL
</VirtualHost>
EOF
    chmod 600 "$CONF/proftpd.conf"
}

proftpd_tls_lines() {  # inst
    cat <<EOF
  TLSEngine on
  TLSLog $LOGS/$1.tls.log
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile $STATE/certs/server.pem
  TLSRSACertificateKeyFile $STATE/certs/server.key
  TLSCACertificateFile $STATE/certs/ca.pem
  TLSVerifyClient off
  TLSRenegotiate none
  # Login needs AUTH TLS (or implicit TLS); PROT C stays allowed.  Data
  # connections must reuse the control connection's TLS session: mod_tls's
  # default, kept (no NoSessionReuseRequired).
  TLSRequired auth
EOF
}

# bsd-ftpd logs in to the home /etc/passwd gives ftpc: inside its private
# mount namespace /etc is this copy of the host's, whose passwd has the instance
# home. The whole directory is mounted, not the file: a package install or
# useradd on the host replaces /etc/passwd by a rename, and the kernel then
# detaches a mount on that file from every namespace (the server would go back
# to the real home); a mount on the directory is not affected.
bsdftpd_etc() {
    local etc=$CONF/bsd-ftpd-etc
    rm -rf "$etc"
    mkdir -p "$etc"
    cp -a /etc/. "$etc/"
    awk -F: -v OFS=: -v u="$FTP_USER" -v h="$HOME_ROOT/bsd-ftpd" '$1 == u { $6 = h } { print }' /etc/passwd > "$etc/passwd"
    chmod 644 "$etc/passwd"
    grep -q "^$FTP_USER:[^:]*:[^:]*:[^:]*:[^:]*:$HOME_ROOT/bsd-ftpd:" "$etc/passwd" || die "could not write $etc/passwd"
}

launch() {  # inst command...
    local inst=$1; shift
    (
        # Don't leak inherited descriptors (e.g. a CI runner's output pipe)
        # into a daemon that outlives us: the reader would never see EOF.
        for fd in "/proc/$BASHPID/fd"/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-"; fi
        done
        # Both daemons (inetd heritage) write startup errors such as
        # "500 OOPS: ..." to fd 0, so stdin is the log file opened read-write;
        # the standalone listener never reads it.  setsid: detach from the
        # caller's process group so a Ctrl-C aimed at it spares the servers.
        : > "$LOGS/$inst.log"
        # shellcheck disable=SC2094
        exec setsid "$@" 0<>"$LOGS/$inst.log" 1>>"$LOGS/$inst.log" 2>&1
    ) &
    echo $! > "$RUN/$inst.pid"
}

wait_ready() {  # inst host port
    local inst=$1 host=$2 port=$3 pid i
    pid=$(cat "$RUN/$inst.pid")
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "servers.sh: error: $inst did not accept connections on [$host]:$port (pid $pid)" >&2
    local f
    for f in "$LOGS/$inst.log" "$LOGS/$inst.vsftpd.log" "$LOGS/$inst.system.log"; do
        if [[ -s $f ]]; then
            echo "---- $f" >&2
            tail -n 40 "$f" >&2
        fi
    done
    stop_all
    exit 1
}

q() { printf '%q' "$1"; }

start_all() {
    preflight
    mkdir -p "$STATE" "$RUN" "$LOGS" "$CONF" "$STATE/vsftpd-empty" "$STATE/pureftpd" "$STATE/proftpd"
    chmod 755 "$STATE/vsftpd-empty"
    rm -f "$LOGS"/*.log
    "$here/certs.sh" "$STATE/certs" >/dev/null
    setup_homes
    install_pam_service

    local ipv6=0
    if have_ipv6; then ipv6=1; else say "warning: no ::1 on lo; IPv6 instances not started"; fi

    # vsftpd: one process per listener (3.0.3 serves a single socket each).
    vsftpd_conf vsftpd $PORT_VSFTPD $PASV $((PASV + 99)) <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
EOF
    vsftpd_conf vsftpd6 $PORT_VSFTPD6 $((PASV + 100)) $((PASV + 199)) <<EOF
listen=NO
listen_ipv6=YES
listen_address6=::1
EOF
    { printf 'listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\n'; tls_lines; } |
        vsftpd_conf vsftpd-tls $PORT_VSFTPD_TLS $((PASV + 200)) $((PASV + 299))
    { printf 'listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nimplicit_ssl=YES\n'; tls_lines; } |
        vsftpd_conf vsftpd-implicit $PORT_VSFTPD_IMPLICIT $((PASV + 300)) $((PASV + 399))
    vsftpd_conf vsftpd-capped $PORT_VSFTPD_CAPPED $((PASV + 800)) $((PASV + 899)) <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
local_max_rate=$CAPPED_RATE
EOF

    # pure-ftpd virtual user mapped onto the ftpc uid, chrooted to its home.
    local pdir=$STATE/pureftpd uid gid
    uid=$(id -u "$FTP_USER"); gid=$(id -g "$FTP_USER")
    # pure-pw hashes with argon2id tuned so hard that it (and then every
    # login) costs ~4 s of CPU.  pure-ftpd also accepts crypt(3) hashes, so
    # the entry gets a SHA-512-crypt hash instead, and is kept across starts.
    if ! grep -q "^$FTP_USER:\$6\$[^:]*:$uid:$gid::$HOME_ROOT/pureftpd/\./:" "$pdir/pureftpd.passwd" 2>/dev/null; then
        rm -f "$pdir/pureftpd.passwd"
        printf '%s\n%s\n' "$FTP_PASS" "$FTP_PASS" |
            "$PUREPW" useradd "$FTP_USER" -u "$FTP_USER" -g "$FTP_USER" -d "$HOME_ROOT/pureftpd" \
                -f "$pdir/pureftpd.passwd" >/dev/null
        local hash; hash=$(openssl passwd -6 "$FTP_PASS")
        awk -F: -v OFS=: -v h="$hash" '{ $2 = h; print }' "$pdir/pureftpd.passwd" > "$pdir/pureftpd.passwd.tmp"
        mv -f "$pdir/pureftpd.passwd.tmp" "$pdir/pureftpd.passwd"
    fi
    rm -f "$pdir/pureftpd.pdb"
    "$PUREPW" mkdb "$pdir/pureftpd.pdb" -f "$pdir/pureftpd.passwd"
    [[ -s $pdir/pureftpd.pdb ]] || die "pure-pw did not create $pdir/pureftpd.pdb"
    local pure_args=(
        -l "puredb:$pdir/pureftpd.pdb"
        -E               # no anonymous logins
        -H               # don't resolve client names
        -Y 1             # TLS optional
        -2 "$STATE/certs/server-combined.pem"
        -p $((PASV + 400)):$((PASV + 499))
        -c 50            # the most a range of 100 passive ports allows
        -f none          # no syslog in the sandbox; errors go to the log file
    )

    launch vsftpd "$VSFTPD" "$CONF/vsftpd.conf"
    launch vsftpd-tls "$VSFTPD" "$CONF/vsftpd-tls.conf"
    launch vsftpd-implicit "$VSFTPD" "$CONF/vsftpd-implicit.conf"
    launch vsftpd-capped "$VSFTPD" "$CONF/vsftpd-capped.conf"
    # One pure-ftpd per loopback address: -S takes a single address, and a
    # wildcard bind would expose the server beyond loopback.
    launch pureftpd "$PUREFTPD" "${pure_args[@]}" -g "$RUN/pureftpd.self-pid" -S "127.0.0.1,$PORT_PUREFTPD"
    if [[ $ipv6 == 1 ]]; then
        launch vsftpd6 "$VSFTPD" "$CONF/vsftpd6.conf"
        launch pureftpd6 "$PUREFTPD" "${pure_args[@]}" -g "$RUN/pureftpd6.self-pid" -S "::1,$PORT_PUREFTPD"
    fi

    # ProFTPD: -n stays in the foreground (tracked like the others), -c our config only.
    proftpd_conf "$ipv6"
    "$PROFTPD" -t -c "$CONF/proftpd.conf" > "$LOGS/proftpd.configtest.log" 2>&1 ||
        { cat "$LOGS/proftpd.configtest.log" >&2; die "ProFTPD refused $CONF/proftpd.conf"; }
    launch proftpd "$PROFTPD" -n -c "$CONF/proftpd.conf"

    # bsd-ftpd: inetd.py in a private mount namespace (see the top of this file),
    # one ftpd per connection with the default (passwd/shadow) authentication
    # and the umask of the other instances (its default is 027).
    bsdftpd_etc
    local bsd_listen=("127.0.0.1,$PORT_BSDFTPD")
    if [[ $ipv6 == 1 ]]; then bsd_listen+=("::1,$PORT_BSDFTPD"); fi
    local bsd_mounts=(--bind-mount "$CONF/bsd-ftpd-etc:/etc")
    if [[ -e /var/log/wtmp ]]; then bsd_mounts+=(--bind-mount /dev/null:/var/log/wtmp); fi
    launch bsd-ftpd unshare -m --propagation private -- \
        "$PYTHON" "$INETD" "${bsd_mounts[@]}" "${bsd_listen[@]}" -- "$BSDFTPD" -u 022

    wait_ready vsftpd 127.0.0.1 $PORT_VSFTPD
    wait_ready vsftpd-tls 127.0.0.1 $PORT_VSFTPD_TLS
    wait_ready vsftpd-implicit 127.0.0.1 $PORT_VSFTPD_IMPLICIT
    wait_ready vsftpd-capped 127.0.0.1 $PORT_VSFTPD_CAPPED
    wait_ready pureftpd 127.0.0.1 $PORT_PUREFTPD
    if [[ $ipv6 == 1 ]]; then
        wait_ready vsftpd6 ::1 $PORT_VSFTPD6
        wait_ready pureftpd6 ::1 $PORT_PUREFTPD
    fi
    wait_ready proftpd 127.0.0.1 $PORT_PROFTPD
    wait_ready proftpd 127.0.0.1 $PORT_PROFTPD_TLS
    wait_ready proftpd 127.0.0.1 $PORT_PROFTPD_IMPLICIT
    wait_ready bsd-ftpd 127.0.0.1 $PORT_BSDFTPD
    if [[ $ipv6 == 1 ]]; then
        wait_ready proftpd ::1 $PORT_PROFTPD
        wait_ready bsd-ftpd ::1 $PORT_BSDFTPD
    fi

    local env=$STATE/env
    cat > "$env.tmp" <<EOF
# Generated by tests/servers/servers.sh start; removed by stop.
export FTPC_SERVERS_STATE=$(q "$STATE")
export FTPC_TEST_HOST=127.0.0.1
export FTPC_TEST_HOST6=::1
export FTPC_TEST_IPV6=$ipv6
export FTPC_TEST_USER=$(q "$FTP_USER")
export FTPC_TEST_PASS=$(q "$FTP_PASS")
export FTPC_VSFTPD_PORT=$PORT_VSFTPD
export FTPC_VSFTPD6_PORT=$PORT_VSFTPD6
export FTPC_VSFTPD_TLS_PORT=$PORT_VSFTPD_TLS
export FTPC_VSFTPD_IMPLICIT_PORT=$PORT_VSFTPD_IMPLICIT
export FTPC_PUREFTPD_PORT=$PORT_PUREFTPD
export FTPC_PROFTPD_PORT=$PORT_PROFTPD
export FTPC_PROFTPD_TLS_PORT=$PORT_PROFTPD_TLS
export FTPC_PROFTPD_IMPLICIT_PORT=$PORT_PROFTPD_IMPLICIT
export FTPC_BSDFTPD_PORT=$PORT_BSDFTPD
export FTPC_VSFTPD_CAPPED_PORT=$PORT_VSFTPD_CAPPED
export FTPC_VSFTPD_CAPPED_RATE=$CAPPED_RATE
export FTPC_VSFTPD_HOME=$(q "$HOME_ROOT/vsftpd")
export FTPC_VSFTPD6_HOME=$(q "$HOME_ROOT/vsftpd6")
export FTPC_VSFTPD_TLS_HOME=$(q "$HOME_ROOT/vsftpd-tls")
export FTPC_VSFTPD_IMPLICIT_HOME=$(q "$HOME_ROOT/vsftpd-implicit")
export FTPC_PUREFTPD_HOME=$(q "$HOME_ROOT/pureftpd")
export FTPC_PROFTPD_HOME=$(q "$HOME_ROOT/proftpd")
export FTPC_PROFTPD_TLS_HOME=$(q "$HOME_ROOT/proftpd-tls")
export FTPC_PROFTPD_IMPLICIT_HOME=$(q "$HOME_ROOT/proftpd-implicit")
export FTPC_BSDFTPD_HOME=$(q "$HOME_ROOT/bsd-ftpd")
export FTPC_VSFTPD_CAPPED_HOME=$(q "$HOME_ROOT/vsftpd-capped")
export FTPC_TEST_CERTS=$(q "$STATE/certs")
export FTPC_TEST_CA=$(q "$STATE/certs/ca.pem")
EOF
    mv -f "$env.tmp" "$env"
    say "started (env: $env)"
}

status_all() {
    local f pid state
    shopt -s nullglob
    for f in "$RUN"/*.pid; do
        pid=$(cat "$f")
        state=dead
        ours "$pid" && state=running
        echo "$(basename "$f" .pid) pid $pid $state"
    done
}

case $cmd in
    start) mkdir -p "$RUN"; stop_all >/dev/null; start_all ;;
    stop)  stop_all ;;
    status) status_all ;;
    *) echo "usage: $0 start|stop|status [STATE_DIR]" >&2; exit 2 ;;
esac
