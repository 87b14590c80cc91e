#!/usr/bin/env python3
"""ftpc benchmarks against curl, lftp and Python's ftplib, with the machine's limits.

Started by bench/run.sh (which builds and installs the library and the C driver first):

    bench/run.sh            # the full run: 1 GiB transfers, 5 repetitions, docs/BENCHMARKS.md
    bench/run.sh --quick    # a smoke test: small sizes, 2 repetitions, under 2 minutes

Every measurement is one child process (ftpc_bench, curl, lftp or python3 peer_ftplib.py):
its wall time from this process, its CPU seconds (user+sys) and peak RSS from wait4(2). The
server's CPU is the growth of its listener's utime+stime+cutime+cstime (/proc/PID/stat),
which takes in the session processes once they exit and the listener reaps them. See
docs/BENCHMARKS.md for the method and the results.
"""
import argparse
import datetime
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GiB = 1 << 30
MiB = 1 << 20
TICK = os.sysconf("SC_CLK_TCK")
KiB = 1 << 10

# The fixture servers of tests/servers/servers.sh the benchmark uses: name, the env file's
# variable stem (FTPC_<stem>_PORT, FTPC_<stem>_HOME), the pid file in STATE/run.
SERVER_VARS = [("vsftpd", "VSFTPD", "vsftpd"), ("vsftpd-tls", "VSFTPD_TLS", "vsftpd-tls"),
               ("pure-ftpd", "PUREFTPD", "pureftpd"), ("proftpd", "PROFTPD", "proftpd"),
               ("proftpd-tls", "PROFTPD_TLS", "proftpd"), ("bsd-ftpd", "BSDFTPD", "bsd-ftpd"),
               ("vsftpd-capped", "VSFTPD_CAPPED", "vsftpd-capped")]
# Segmented downloads (issue 15): vsftpd-capped holds every session to
# FTPC_VSFTPD_CAPPED_RATE (local_max_rate), and the file is fetched over 1 and 4 connections.
PGET_SEGMENTS = 4
SERVER_VERSIONS = {"vsftpd": "vsftpd 3.0.3", "pure-ftpd": "pure-ftpd 1.0.50", "proftpd": "ProFTPD 1.3.8",
                   "bsd-ftpd": "GNU inetutils ftpd 2.4"}
# Plain and FTPS instances, in the order the cases run. pure-ftpd serves both on one port
# (TLS optional); vsftpd-tls and proftpd-tls require AUTH TLS.
PLAIN = [("vsftpd", False), ("pure-ftpd", False), ("proftpd", False), ("bsd-ftpd", False)]
TLS = [("vsftpd-tls", True), ("pure-ftpd", True), ("proftpd-tls", True)]
# ProFTPD's listener sleeps 2 x 200 ms after every signal it takes (SIGCHLD when a session
# ends, its own SIGALRM timers; seen with strace: pselect6 with a 200 ms timeout twice, its
# EINTR retry interval) and accepts nothing meanwhile: a client that connects right after
# the previous session ended waits up to 0.4 s for the banner. Runs on it start at least
# this long after the previous session ended, so that the wait is not counted.
SETTLE = {"proftpd": 0.45, "proftpd-tls": 0.45}
# Servers that refuse Python ftplib's FTPS data connections: they require the data
# connection to resume the control connection's TLS session, which ftplib does not do.
NEEDS_SESSION_REUSE = ("vsftpd-tls", "proftpd-tls")
# The block-size sweep: ftp_retrbinary / ftp_storbinary block sizes (0 = the default,
# 64 KiB), and ftplib's.
SWEEP_BLOCKS = [4 * KiB, 16 * KiB, 0, 256 * KiB, MiB, 16 * MiB]
FTPLIB_BLOCKS = [8 * KiB, 64 * KiB, 256 * KiB, MiB]

# caps: smaller counts for clients too slow for the full one in that case (rates are per
# operation, so they stay comparable): curl 7.88.1 stalls for 1 s in its event loop on many
# of the transfers it makes over a reused control connection; lftp takes ~50 ms per TLS data
# connection; vsftpd takes ~50-100 ms per login, so 200 connections take ~20 s per run.
FULL = dict(big=GiB, pget=32 * MiB, small_n=500, small_size=4096, rt_n=2000, conn_n=200, list_n=10000, reps=5, warmup=1,
            tcp_reps=5, ops_reps=10, caps={"many": {"curl": 20}, "many-tls": {"curl": 20, "lftp": 100},
                              "connect": {"lftp": 50, "curl (1 process each)": 50}})
QUICK = dict(big=8 * MiB, pget=4 * MiB, small_n=20, small_size=4096, rt_n=200, conn_n=5, list_n=1000, reps=2, warmup=1,
             tcp_reps=2, ops_reps=2, caps={"many": {"curl": 5}, "many-tls": {"curl": 5, "lftp": 10}, "connect": {}})


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return tuple(float(x) for x in f.read().split()[:3])


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    total = sum(v[:8])
    return total - idle, total


def fs_type(path):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


# --- servers ---------------------------------------------------------------------------------

class Servers:
    """The FTP servers: either a running set described by an env file of
    tests/servers/servers.sh, or our own set started in a state dir under /dev/shm with a port
    offset (FTPC_SERVERS_PORT_OFFSET), so that it never touches the default set on the
    default ports that other test runs use."""

    def __init__(self, args):
        self.own = False
        self.args = args
        default_env = os.path.join(REPO, "target/ftp-servers/env")
        mode = args.servers
        if mode == "auto":
            if os.path.exists(default_env) and fs_type(self.read_env(default_env)["FTPC_VSFTPD_HOME"]) == "tmpfs":
                mode = "env"
                args.env = default_env
                self.why = "the default servers are running and their homes are on tmpfs"
            else:
                mode = "own"
                self.why = ("the default servers are not running" if not os.path.exists(default_env)
                            else "the default servers' homes are not on tmpfs (%s)" %
                            fs_type(self.read_env(default_env)["FTPC_VSFTPD_HOME"]))
        else:
            self.why = "--servers %s" % mode
        if mode == "own":
            self.state = args.state_dir
            self.offset = args.port_offset
            env = dict(os.environ, FTPC_SERVERS_PORT_OFFSET=str(self.offset))
            log("bench: starting our own servers: state dir %s, port offset %d" % (self.state, self.offset))
            subprocess.run([os.path.join(REPO, "tests/servers/servers.sh"), "start", self.state], env=env,
                           check=True, stdout=sys.stderr)
            self.own = True
            self.env_file = os.path.join(self.state, "env")
        else:
            self.env_file = args.env or default_env
            if not os.path.exists(self.env_file):
                sys.exit("bench: %s does not exist: start the servers (tests/servers/servers.sh start)" %
                         self.env_file)
        e = self.read_env(self.env_file)
        self.env = e
        self.state = e["FTPC_SERVERS_STATE"]
        self.host = e["FTPC_TEST_HOST"]
        self.user = e["FTPC_TEST_USER"]
        self.password = e["FTPC_TEST_PASS"]
        self.ca = e["FTPC_TEST_CA"]
        # name -> (port, home, pid file). ProFTPD serves both of its instances from one
        # listener process. An env file of an older set may lack the later servers.
        self.inst = {}
        for name, var, pidf in SERVER_VARS:
            if "FTPC_%s_PORT" % var in e:
                self.inst[name] = (int(e["FTPC_%s_PORT" % var]), e["FTPC_%s_HOME" % var], pidf)
        self.mode = mode
        self._sampler = None

    @staticmethod
    def read_env(path):
        out = {}
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    k, _, v = line[7:].partition("=")
                    out[k] = shlex.split(v)[0] if v else ""
        return out

    def port(self, name):
        return self.inst[name][0]

    def home(self, name):
        return self.inst[name][1]

    def pid(self, name):
        with open(os.path.join(self.state, "run", self.inst[name][2] + ".pid")) as f:
            return int(f.read().strip())

    def has(self, name):
        return name in self.inst

    def sampled(self, name):
        """Whether the server's sessions must be sampled while they run: BSD ftpd's launcher
        (tests/servers/inetd.py) ignores SIGCHLD, so the kernel reaps its sessions and their
        CPU never reaches the launcher's cutime/cstime; vsftpd with TLS leaves a busy process
        of the session to be reaped by init (its CPU was missing: "bg" CPUs of ~1 during
        its uploads, a server at util 0.4 with two of its processes running)."""
        return name in ("bsd-ftpd", "vsftpd-tls")

    def cpu_ticks(self, name):
        """(user, sys) jiffies: utime+cutime and stime+cstime of the listener, its reaped
        sessions included; for a sampled server, the listener's own plus the largest
        utime/stime seen of each session by the running sampler (see start_sampling)."""
        # A sampled server: the listener's own CPU and the sessions' as sampled, not the
        # listener's cutime (which holds some of the same sessions).
        u, s = _proc_cpu(self.pid(name), children=not self.sampled(name))
        if self.sampled(name) and self._sampler:
            su, ss = self._sampler.totals()
            u, s = u + su, s + ss
        return u, s

    def start_sampling(self, name):
        if self.sampled(name):
            self._sampler = SessionSampler(self.pid(name))
            self._sampler.start()

    def stop_sampling(self):
        if self._sampler:
            self._sampler.stop()

    def end_sampling(self):
        self._sampler = None

    def children(self, name):
        pid = self.pid(name)
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return f.read().split()
        except OSError:
            return []

    def wait_idle(self, name, before, timeout=2.0):
        """Waits until the sessions started since `before` (the listener's children then) have
        ended and been reaped, so that their CPU is counted."""
        end = time.monotonic() + timeout
        while set(self.children(name)) - set(before) and time.monotonic() < end:
            time.sleep(0.005)

    def stop(self):
        if self.own:
            pids = []
            for f in os.listdir(os.path.join(self.state, "run")) if os.path.isdir(os.path.join(self.state, "run")) else []:
                try:
                    with open(os.path.join(self.state, "run", f)) as fh:
                        pids.append(int(fh.read().strip()))
                except (OSError, ValueError):
                    pass
            subprocess.run([os.path.join(REPO, "tests/servers/servers.sh"), "stop", self.state],
                           stdout=sys.stderr, check=False)
            # servers.sh stops only processes whose executable is still the one it knows: an
            # interpreter upgraded while the set ran (BSD ftpd's launcher is python3) shows as
            # "(deleted)" and is left running. Those of our listeners that still run, and
            # name this state dir on their command line, are stopped here, by pid.
            time.sleep(0.5)
            for pid in pids:
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as fh:
                        cmd = fh.read().decode(errors="replace")
                except OSError:
                    continue
                if self.state in cmd:
                    log("bench: %d (%s) outlived servers.sh stop: SIGTERM" % (pid, cmd.replace("\0", " ")[:100]))
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except OSError:
                        pass
            if self.state.startswith("/dev/shm/"):
                shutil.rmtree(self.state, ignore_errors=True)
                try:
                    os.rmdir(os.path.dirname(self.state))
                except OSError:
                    pass


def _proc_cpu(pid, children=False):
    """(user, sys) jiffies of a process, with those of its reaped children if asked."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11..14]: utime stime cutime cstime
    u, s = int(fields[11]), int(fields[12])
    if children:
        u, s = u + int(fields[13]), s + int(fields[14])
    return u, s


class SessionSampler:
    """Reads every 5 ms the CPU of the listener's children (and theirs) while a run goes on,
    keeping the last figure seen of each: the CPU of sessions nobody waits for. It misses
    what a session spends after its last sample (at most ~5 ms of it)."""

    def __init__(self, listener):
        import threading
        self.listener = listener
        self.seen = {}  # pid -> (user, sys)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def kids(self, pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                out = [int(x) for x in f.read().split()]
        except OSError:
            return []
        for k in list(out):
            out += self.kids(k)
        return out

    def sample(self):
        for pid in self.kids(self.listener):
            try:
                self.seen[pid] = _proc_cpu(pid)
            except (OSError, IndexError, ValueError):
                pass

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.005)

    def stop(self):
        self.sample()
        self.done.set()
        self.thread.join()

    def totals(self):
        return (sum(u for u, _ in self.seen.values()), sum(s for _, s in self.seen.values()))


# --- data ------------------------------------------------------------------------------------

def write_lines(path, size):
    """A text file of `size` bytes: lines of 20-140 printable characters ended by LF (the
    servers that convert ASCII send CRLF). Returns the number of lines."""
    import base64
    rnd = random.Random(13)
    out = bytearray()
    n = 0
    while len(out) < size:
        chunk = base64.b64encode(os.urandom(3 * MiB))
        i = 0
        while i < len(chunk) and len(out) < size:
            k = rnd.randrange(20, 141)
            line = chunk[i:i + k]
            i += k
            left = size - len(out)
            if len(line) + 1 > left:
                line = line[:max(0, left - 1)]
            out += line + b"\n"
            n += 1
    with open(path, "wb") as f:
        f.write(out)
    return n


class Data:
    """Random files in the servers' homes under bench-data/, and the local upload source."""

    def __init__(self, servers, cfg, local_dir):
        self.s = servers
        self.cfg = cfg
        self.local = local_dir
        self.homes = sorted({servers.home(n) for n in servers.inst})

    def make(self):
        cfg = self.cfg
        uid = gid = None
        try:
            import pwd
            pw = pwd.getpwnam(self.s.user)
            uid, gid = pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
        os.makedirs(self.local, exist_ok=True)
        src = os.path.join(self.local, "big.bin")
        if not os.path.exists(src) or os.path.getsize(src) != cfg["big"]:
            log("bench: writing %d random bytes to %s" % (cfg["big"], src))
            with open(src, "wb") as f:
                left = cfg["big"]
                while left:
                    n = min(left, 4 * MiB)
                    f.write(os.urandom(n))
                    left -= n
        lines_src = None
        if cfg.get("lines"):
            lines_src = os.path.join(self.local, "lines.txt")
            log("bench: writing %d bytes of text lines to %s" % (cfg["lines"], lines_src))
            self.line_count = write_lines(lines_src, cfg["lines"])
        small = os.urandom(cfg["small_size"])
        for home in self.homes:
            d = os.path.join(home, "bench-data")
            if os.path.exists(d):
                shutil.rmtree(d)
            os.makedirs(os.path.join(d, "small"))
            os.makedirs(os.path.join(d, "list"))
            os.makedirs(os.path.join(d, "up"))
            for local, name in ((src, "big.bin"), (lines_src, "lines.txt")):
                if local is None:
                    continue
                try:
                    os.link(local, os.path.join(d, name))
                except OSError:
                    shutil.copyfile(local, os.path.join(d, name))
            for i in range(cfg["small_n"]):
                with open(os.path.join(d, "small", "f%04d" % i), "wb") as f:
                    f.write(small)
            for i in range(cfg["list_n"]):
                # Sizes vary so that the listing has realistic columns.
                with open(os.path.join(d, "list", "entry-%05d.dat" % i), "wb") as f:
                    f.truncate(random.randrange(0, 1 << 20))
            if uid is not None:
                for root, dirs, files in os.walk(d):
                    for x in [root] + [os.path.join(root, y) for y in files]:
                        os.chown(x, uid, gid)
            os.chmod(d, 0o755)
        # The segmented download's file, on the capped server only (1 GiB at its rate would
        # take minutes).
        self.pget_digest = None
        if "vsftpd-capped" in self.s.inst and cfg.get("pget"):
            import hashlib
            data = os.urandom(cfg["pget"])
            self.pget_digest = hashlib.sha256(data).hexdigest()
            target = os.path.join(self.s.home("vsftpd-capped"), "bench-data", "pget.bin")
            with open(target, "wb") as f:
                f.write(data)
            if uid is not None:
                os.chown(target, uid, gid)
        # The upload source is the same random file, read from tmpfs.
        self.upload_source = src
        self.fs = fs_type(self.homes[0])
        log("bench: data ready in %s (fs: %s) and %s (fs: %s)" %
            (", ".join(self.homes), self.fs, self.local, fs_type(self.local)))

    def up_path(self, server, name):
        return os.path.join(self.s.home(server), "bench-data", "up", name)

    def remove(self):
        for home in self.homes:
            shutil.rmtree(os.path.join(home, "bench-data"), ignore_errors=True)
        shutil.rmtree(self.local, ignore_errors=True)


# --- running one child -------------------------------------------------------------------------

class RunError(Exception):
    pass


RUNNER = None  # set by main(): the bench/runner.c binary


def spawn(argv, timeout=900, env=None):
    """Runs argv through RUNNER (stdin /dev/null, stdout and stderr to files): wall time from
    here, CPU seconds and peak RSS from the runner's wait4(2) on the client."""
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    res = tempfile.NamedTemporaryFile(prefix="rusage-", dir="/dev/shm", delete=False)
    res.close()
    full = [RUNNER, res.name] + [str(a) for a in argv]
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawn(RUNNER, full, env if env is not None else os.environ,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                                           (os.POSIX_SPAWN_DUP2, out_f.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, err_f.fileno(), 2)],
                             setpgroup=0)
        wpid, status, _ = _wait4_timeout(pid, t0 + timeout)
        wall = time.perf_counter() - t0
        if wpid != pid:
            os.killpg(pid, signal.SIGKILL)  # the runner leads its own group: it and its client
            os.wait4(pid, 0)
            raise RunError("timed out after %ds: %s" % (timeout, " ".join(full)))
        with open(res.name) as f:
            fields = f.read().split()
    finally:
        os.unlink(res.name)
    out_f.seek(0)
    err_f.seek(0)
    out = out_f.read().decode(errors="replace")
    err = err_f.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 or len(fields) != 4:
        raise RunError("runner failed: %s\n%s" % (" ".join(full), err[-2000:]))
    code = os.waitstatus_to_exitcode(int(fields[0]))
    if code != 0:
        raise RunError("exit %d: %s\n%s%s" % (code, " ".join(map(str, argv)), out[-2000:], err[-2000:]))
    return dict(wall=wall, user=float(fields[1]), sys=float(fields[2]), maxrss_kb=int(fields[3]), out=out, err=err)


def _wait4_timeout(pid, deadline):
    """Blocks in wait4 until the child ends, or returns (0, 0, None) at the deadline."""
    # SIGALRM interrupts the blocking wait4 (PEP 475 retries unless the handler raises).
    class _Alarm(Exception):
        pass

    def handler(signum, frame):
        raise _Alarm()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.perf_counter()))
    try:
        return os.wait4(pid, 0)
    except _Alarm:
        return 0, 0, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parse_ok(out):
    """The 'ok bytes=.. ops=.. entries=.. secs=..' line of ftpc_bench and peer_ftplib.py."""
    for line in out.splitlines():
        if line.startswith("ok "):
            return {k: float(v) for k, v in (x.split("=") for x in line.split()[1:])}
    raise RunError("no result line in: %r" % out[-500:])


# --- clients ---------------------------------------------------------------------------------

class Ctx:
    """What a client needs to build its command line for one case."""

    def __init__(self, bench, server, tls, count):
        self.b = bench
        self.server = server
        self.tls = tls
        self.count = count
        s = bench.servers
        self.host = s.host
        self.port = s.port(server)
        self.user = s.user
        self.password = s.password
        self.ca = s.ca

    def url(self, path=""):
        return "ftp://%s:%s@%s:%d/%s" % (self.user, self.password, self.host, self.port, path)


def ftpc_argv(c, cmd, *extra):
    argv = [c.b.driver, cmd, "--host", c.host, "--port", str(c.port), "--user", c.user, "--pass", c.password]
    if c.tls:
        argv += ["--tls", "--ca", c.ca]
    return argv + [str(x) for x in extra]


def ftplib_argv(c, cmd, *extra):
    argv = [sys.executable, os.path.join(HERE, "peer_ftplib.py"), cmd, "--host", c.host, "--port", str(c.port),
            "--user", c.user, "--pass", c.password]
    if c.tls:
        argv += ["--tls", "--ca", c.ca]
    return argv + [str(x) for x in extra]


def curl_base(c):
    argv = ["curl", "-sS", "--disable"]
    if c.tls:
        argv += ["--ssl-reqd", "--cacert", c.ca]
    return argv


def lftp_script(c, body):
    """An lftp script file: settings, open, then the body lines."""
    lines = ["set cmd:interactive false", "set xfer:clobber on", "set xfer:use-temp-file false",
             "set net:max-retries 1", "set net:timeout 60", "set ftp:passive-mode on"]
    if c.tls:
        lines += ["set ftp:ssl-allow yes", "set ftp:ssl-force true", "set ftp:ssl-protect-data true",
                  "set ftp:ssl-protect-list true", "set ssl:ca-file " + c.ca, "set ssl:verify-certificate yes"]
    else:
        lines += ["set ftp:ssl-allow no"]
    lines += ["open -u %s,%s -p %d ftp://%s" % (c.user, c.password, c.port, c.host)]
    lines += body
    path = os.path.join(c.b.tmp, "script-%d.lftp" % random.randrange(1 << 30))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["lftp", "-f", path]


def curl_config(c, lines):
    path = os.path.join(c.b.tmp, "curl-%d.cfg" % random.randrange(1 << 30))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# A client of a case: name, and a function ctx -> list of runs (each a dict with argv and
# what to check), plus whether it is ftpc.

def transfer_clients(direction, tls, server):
    """RETR or STOR of bench-data/big.bin."""
    big = "bench-data/big.bin"
    out = []
    if direction == "retr":
        out.append(("ftpc retr-cb 64K", True, lambda c: ftpc_argv(c, "retr-cb", "--path", big, "--expect", c.b.cfg["big"])))
        out.append(("ftpc retr-cb 256K", True, lambda c: ftpc_argv(c, "retr-cb", "--path", big, "--blocksize", 262144,
                                                               "--expect", c.b.cfg["big"])))
        out.append(("ftpc retr-fd", True, lambda c: ftpc_argv(c, "retr-fd", "--path", big, "--file", "/dev/null",
                                                          "--expect", c.b.cfg["big"])))
        out.append(("curl", False, lambda c: curl_base(c) + ["-o", "/dev/null", "-w", "%{size_download}\n", c.url(big)]))
        out.append(("lftp", False, lambda c: lftp_script(c, ["get %s -o /dev/null" % big])))
        if not (tls and server in NEEDS_SESSION_REUSE):
            out.append(("ftplib 8K", False, lambda c: ftplib_argv(c, "retr", "--path", big, "--blocksize", 8192,
                                                             "--expect", c.b.cfg["big"])))
            out.append(("ftplib 256K", False, lambda c: ftplib_argv(c, "retr", "--path", big, "--blocksize", 262144,
                                                               "--expect", c.b.cfg["big"])))
    else:
        def up(c, who):
            return "bench-data/up/" + who + ".bin"
        out.append(("ftpc stor-cb 64K", True, lambda c: ftpc_argv(c, "stor-cb", "--path", up(c, "ftpc-cb"),
                                                              "--file", c.b.data.upload_source)))
        out.append(("ftpc stor-cb 256K", True, lambda c: ftpc_argv(c, "stor-cb", "--path", up(c, "ftpc-cb"),
                                                               "--blocksize", 262144, "--file", c.b.data.upload_source)))
        out.append(("ftpc stor-fd", True, lambda c: ftpc_argv(c, "stor-fd", "--path", up(c, "ftpc-fd"),
                                                          "--file", c.b.data.upload_source)))
        out.append(("curl", False, lambda c: curl_base(c) + ["-T", c.b.data.upload_source, c.url(up(c, "curl"))]))
        out.append(("lftp", False, lambda c: lftp_script(c, ["put %s -o %s" % (c.b.data.upload_source, up(c, "lftp"))])))
        if not (tls and server in NEEDS_SESSION_REUSE):
            out.append(("ftplib 8K", False, lambda c: ftplib_argv(c, "stor", "--path", up(c, "ftplib"), "--blocksize", 8192,
                                                             "--file", c.b.data.upload_source)))
            out.append(("ftplib 256K", False, lambda c: ftplib_argv(c, "stor", "--path", up(c, "ftplib"),
                                                               "--blocksize", 262144, "--file", c.b.data.upload_source)))
    return out


def retr_file_clients(tls, server):
    """RETR of bench-data/big.bin into a file on tmpfs, as a program saving a download does:
    ftpc's callback writing each block with write(2), ftpc's fd call (splice(2) into a
    regular file), curl -o, lftp get -o, ftplib with the file's write as its callback."""
    big = "bench-data/big.bin"
    out = [
        ("ftpc retr-cb 64K", True, lambda c: ftpc_argv(c, "retr-cb", "--path", big, "--file", retr_file(c, "ftpc-cb"),
                                                      "--expect", c.b.cfg["big"])),
        ("ftpc retr-cb 256K", True, lambda c: ftpc_argv(c, "retr-cb", "--path", big, "--blocksize", 262144,
                                                       "--file", retr_file(c, "ftpc-cb"), "--expect", c.b.cfg["big"])),
        ("ftpc retr-fd", True, lambda c: ftpc_argv(c, "retr-fd", "--path", big, "--file", retr_file(c, "ftpc-fd"),
                                                  "--expect", c.b.cfg["big"])),
        ("curl", False, lambda c: curl_base(c) + ["-o", retr_file(c, "curl"), c.url(big)]),
        ("lftp", False, lambda c: lftp_script(c, ["get %s -o %s" % (big, retr_file(c, "lftp"))])),
    ]
    if not (tls and server in NEEDS_SESSION_REUSE):
        out.append(("ftplib 256K", False, lambda c: ftplib_argv(c, "retr", "--path", big, "--blocksize", 262144,
                                                           "--file", retr_file(c, "ftplib"), "--expect", c.b.cfg["big"])))
    return out


def retr_file(c, who):
    return os.path.join(c.b.tmp, "retr-%s.bin" % who)


def pget_clients():
    """bench-data/pget.bin over one connection and over PGET_SEGMENTS, into a file on tmpfs."""
    path = "bench-data/pget.bin"
    n = PGET_SEGMENTS

    def local(c, who):
        return os.path.join(c.b.tmp, "pget-%s.bin" % who)
    return [
        ("ftpc 1 connection", True, lambda c: ftpc_argv(c, "pget", "--path", path, "--count", 1,
                                                       "--file", local(c, "ftpc-1"))),
        ("ftpc %d connections" % n, True, lambda c: ftpc_argv(c, "pget", "--path", path, "--count", n,
                                                             "--file", local(c, "ftpc-%d" % n))),
        ("lftp get", False, lambda c: lftp_script(c, ["get %s -o %s" % (path, local(c, "lftp-1"))])),
        ("lftp pget -n %d" % n, False, lambda c: lftp_script(c, ["pget -n %d %s -o %s" % (n, path, local(c, "lftp-%d" % n))])),
    ]


def bs_name(n):
    if n == 0:
        return "64K (default)"
    return "%dM" % (n // MiB) if n >= MiB else "%dK" % (n // KiB)


def sweep_clients(direction, tls, server):
    """The block-size sweep of one direction: ftpc's callback calls at every block size of
    SWEEP_BLOCKS, curl, lftp, and ftplib at every block size of FTPLIB_BLOCKS (its default is
    8 KiB; the best of them is its "best block size")."""
    big = "bench-data/big.bin"
    ftplib_ok = not (tls and server in NEEDS_SESSION_REUSE)
    out = []
    if direction == "retr":
        for bs in SWEEP_BLOCKS:
            out.append(("ftpc retr-cb " + bs_name(bs), True,
                        lambda c, bs=bs: ftpc_argv(c, "retr-cb", "--path", big, "--blocksize", bs, "--expect", c.b.cfg["big"])))
        out.append(("curl", False, lambda c: curl_base(c) + ["-o", "/dev/null", "-w", "%{size_download}\n", c.url(big)]))
        out.append(("lftp", False, lambda c: lftp_script(c, ["get %s -o /dev/null" % big])))
        if ftplib_ok:
            for bs in FTPLIB_BLOCKS:
                out.append(("ftplib " + bs_name(bs), False,
                            lambda c, bs=bs: ftplib_argv(c, "retr", "--path", big, "--blocksize", bs, "--expect", c.b.cfg["big"])))
    elif direction == "stor":
        def up(who):
            return "bench-data/up/" + who + ".bin"
        for bs in SWEEP_BLOCKS:
            out.append(("ftpc stor-cb " + bs_name(bs), True,
                        lambda c, bs=bs: ftpc_argv(c, "stor-cb", "--path", up("ftpc-cb"), "--blocksize", bs,
                                                   "--file", c.b.data.upload_source)))
        out.append(("curl", False, lambda c: curl_base(c) + ["-T", c.b.data.upload_source, c.url(up("curl"))]))
        out.append(("lftp", False, lambda c: lftp_script(c, ["put %s -o %s" % (c.b.data.upload_source, up("lftp"))])))
        if ftplib_ok:
            for bs in FTPLIB_BLOCKS:
                out.append(("ftplib " + bs_name(bs), False,
                            lambda c, bs=bs: ftplib_argv(c, "stor", "--path", up("ftplib"), "--blocksize", bs,
                                                         "--file", c.b.data.upload_source)))
    else:  # lines: ftp_retrlines (no block size) against the peers' ASCII downloads
        txt = "bench-data/lines.txt"
        out.append(("ftpc retrlines", True,
                    lambda c: ftpc_argv(c, "retr-lines", "--path", txt, "--expect", c.b.data.line_count)))
        out.append(("curl -B", False, lambda c: curl_base(c) + ["-B", "-o", "/dev/null", c.url(txt)]))
        out.append(("lftp get -a", False, lambda c: lftp_script(c, ["get -a %s -o /dev/null" % txt])))
        if ftplib_ok:
            out.append(("ftplib retrlines", False,
                        lambda c: ftplib_argv(c, "lines", "--path", txt, "--expect", c.b.data.line_count)))
    return out


def ops_clients(kind, tls, server):
    """many / noop / size / connect: each returns argv for a count (0 = the baseline)."""
    small = "bench-data/small/f%04d"
    big = "bench-data/big.bin"
    no_ftplib = tls and server in NEEDS_SESSION_REUSE and kind == "many"
    out = []
    if kind == "many":
        out.append(("ftpc", True, lambda c, n: ftpc_argv(c, "many", "--path", small, "--count", n)))

        def curl_many(c, n):
            if n == 0:
                return curl_base(c) + ["-I", c.url()]
            lines = []
            for i in range(n):
                lines += ['url = "%s"' % c.url(small % i), 'output = "/dev/null"']
            return curl_base(c) + ["--fail-early", "-K", curl_config(c, lines)]
        out.append(("curl", False, curl_many))
        out.append(("lftp", False, lambda c, n: lftp_script(c, ["quote NOOP"] + ["get %s -o /dev/null" % (small % i)
                                                                                 for i in range(n)])))
        if not no_ftplib:
            out.append(("ftplib", False, lambda c, n: ftplib_argv(c, "many", "--path", small, "--count", n)))
    elif kind in ("noop", "size"):
        cmd = "NOOP" if kind == "noop" else "SIZE " + big
        if kind == "noop":
            out.append(("ftpc", True, lambda c, n: ftpc_argv(c, "noop", "--count", n)))
        else:
            out.append(("ftpc", True, lambda c, n: ftpc_argv(c, "size", "--path", big, "--count", n)))

        def curl_rt(c, n):
            lines = ['quote = "TYPE I"'] + ['quote = "%s"' % cmd] * n
            return curl_base(c) + ["-I", "-K", curl_config(c, lines), c.url()]
        out.append(("curl", False, curl_rt))
        out.append(("lftp", False, lambda c, n: lftp_script(c, ["quote TYPE I"] + ["quote %s" % cmd] * n)))
        out.append(("ftplib", False, lambda c, n: ftplib_argv(c, kind, "--path", big, "--count", n)))
    elif kind == "connect":
        out.append(("ftpc", True, lambda c, n: ftpc_argv(c, "connect", "--count", n)))
        out.append(("ftplib", False, lambda c, n: ftplib_argv(c, "connect", "--count", n)))

        def lftp_connect(c, n):
            body = []
            for i in range(n):
                if i:
                    body.append("open -u %s,%s -p %d ftp://%s" % (c.user, c.password, c.port, c.host))
                body += ["quote NOOP", "close"]
            return lftp_script(c, body)
        out.append(("lftp", False, lftp_connect))
        # curl has no way to open a new control connection per URL within one process:
        # it runs once per connection (process start included), marked "per process".
        out.append(("curl (1 process each)", False, "curl-per-process"))
    return out


def listing_clients(kind, server):
    d = "bench-data/list"
    out = []
    if kind == "list":
        out.append(("ftpc ftp_list", True, lambda c: ftpc_argv(c, "list", "--path", d, "--expect", c.b.cfg["list_n"])))
        out.append(("curl (raw LIST)", False, lambda c: curl_base(c) + ["-o", "/dev/null", c.url(d + "/")]))
        out.append(("lftp cls -l", False, lambda c: lftp_script(c, ["set ftp:use-mlsd off", "cls -l %s/" % d])))
        out.append(("ftplib dir (raw)", False, lambda c: ftplib_argv(c, "list", "--path", d, "--expect", c.b.cfg["list_n"])))
    else:
        # pure-ftpd sends at most 10,000 lines per listing (its -L default), cdir and pdir
        # included: the 10,000-entry MLSD listing holds list_n - 2 files.
        files = lambda c: c.b.cfg["list_n"] - 2
        out.append(("ftpc ftp_mlsd", True, lambda c: ftpc_argv(c, "mlsd", "--path", d, "--expect", files(c))))
        out.append(("curl -X MLSD (raw)", False, lambda c: curl_base(c) + ["-X", "MLSD", "-o", "/dev/null", c.url(d + "/")]))
        out.append(("lftp cls -l (MLSD)", False, lambda c: lftp_script(c, ["set ftp:use-mlsd on", "cls -l %s/" % d])))
        out.append(("ftplib mlsd", False, lambda c: ftplib_argv(c, "mlsd", "--path", d, "--expect", files(c))))
    return out


# --- the benchmark ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args, cfg):
        self.args = args
        self.cfg = cfg
        self.driver = args.driver
        self.tmp = tempfile.mkdtemp(prefix="ftpc-bench-", dir="/dev/shm")
        self.results = []  # one dict per case
        self.failed = {}  # (case, server) -> {client: error}
        self.loads = [loadavg()]
        self.last_end = {}  # server -> when its last measured session ended (SETTLE)
        self.servers = None
        self.data = None
        self.pin = None  # (client CPU, server CPU) with --pin
        self.pinned = {}  # server -> its listener's CPUs before --pin, given back at the end

    # One measured run of a client; server CPU and background CPU around it.
    def measure(self, argv, server):
        if server in SETTLE:
            left = self.last_end.get(server, 0) + SETTLE[server] - time.monotonic()
            if left > 0:
                time.sleep(left)
        busy0, total0 = cpu_jiffies()
        if server:
            self.servers.start_sampling(server)
        if server and self.pin and server not in self.pinned:
            # Sessions are forked by the listener: they inherit its CPU.
            self.pinned[server] = os.sched_getaffinity(self.servers.pid(server))
            os.sched_setaffinity(self.servers.pid(server), {self.pin[1]})
        s0 = self.servers.cpu_ticks(server) if server else (0, 0)
        before = self.servers.children(server) if server else []
        try:
            r = spawn(argv)
        finally:
            if server:
                self.servers.wait_idle(server, before)
                self.last_end[server] = time.monotonic()
                self.servers.stop_sampling()
        if server:
            s1 = self.servers.cpu_ticks(server)
            self.servers.end_sampling()
            r["server_user"] = (s1[0] - s0[0]) / TICK
            r["server_sys"] = (s1[1] - s0[1]) / TICK
            r["server_cpu"] = r["server_user"] + r["server_sys"]
        else:
            r["server_cpu"] = r["server_user"] = r["server_sys"] = 0.0
        busy1, total1 = cpu_jiffies()
        # Whole-machine busy CPUs over the run, less what the client and server used.
        span = (total1 - total0) / os.cpu_count() or 1
        r["bg_cpus"] = max(0.0, ((busy1 - busy0) / TICK - r["user"] - r["sys"] - r["server_cpu"]) / (span / TICK))
        return r

    def quiet(self):
        """Before a case: waits (at most --quiet-wait seconds) until the rest of the machine
        is quiet: the CPUs busy during a 3-s window in which this harness runs nothing (other
        people's builds and tests) below --quiet-cpus. The 1-min load average is recorded
        too, but not waited on: it counts the benchmark's own previous case (~1 after a bulk
        case) for a minute or more."""
        t0 = time.monotonic()
        while True:
            busy0, total0 = cpu_jiffies()
            time.sleep(3.0)
            busy1, total1 = cpu_jiffies()
            others = (busy1 - busy0) / ((total1 - total0) / os.cpu_count() or 1)
            waited = time.monotonic() - t0
            if others < self.args.quiet_cpus or waited >= self.args.quiet_wait:
                break
            log("bench: others busy on %.2f CPUs (load %.2f): waiting (%.0f s so far)" % (others, loadavg()[0], waited))
            time.sleep(7.0)
        la = loadavg()
        self.loads.append(la)
        return dict(load=la[0], others=others, waited=waited)

    def settle_quiet(self, limit=60.0):
        """Waits (at most `limit` s) for 1 s in which other work keeps fewer than
        --quiet-cpus CPUs busy."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            busy0, total0 = cpu_jiffies()
            time.sleep(1.0)
            busy1, total1 = cpu_jiffies()
            if (busy1 - busy0) / ((total1 - total0) / os.cpu_count() or 1) < self.args.quiet_cpus:
                return

    def order(self, clients, rep):
        k = rep % len(clients)
        return clients[k:] + clients[:k]

    def run_case(self, case, server, tls, clients, unit, amount, check=None, after=None):
        """clients: (name, is_ftpc, ctx -> argv). amount: bytes or ops per run."""
        if self.skip(case, server):
            return
        if not self.servers.has(server):
            log("bench: %s [%s]: no such server in this set, skipped" % (case, server))
            return
        q = self.quiet()
        log("bench: %s [%s%s] (load %.2f, others %.2f CPUs)" % (case, server, ", TLS" if tls else "", q["load"], q["others"]))
        ctx = Ctx(self, server, tls, None)
        runs = {name: [] for name, _, _ in clients}
        failed = self.failed.setdefault((case, server), {})
        discarded = 0
        for rep in range(-self.cfg["warmup"], self.cfg["reps"]):
            for name, is_ftpc, make in self.order(clients, max(rep, 0)):
                if name in failed:
                    continue
                try:
                    for attempt in range(1 + self.args.busy_retries):
                        r = self.measure(make(ctx), server)
                        if check:
                            check(name, r)
                        if after:
                            after(name)
                        if rep < 0 or r["bg_cpus"] <= self.args.max_bg or attempt == self.args.busy_retries:
                            break
                        # Other work took a share of the machine during this run: it is
                        # discarded and made again once the machine is quiet.
                        discarded += 1
                        log("bench: %s: other work on %.2f CPUs during the run: discarded" % (name, r["bg_cpus"]))
                        self.settle_quiet()
                except RunError as e:
                    failed[name] = str(e).splitlines()[0][:200]
                    log("bench: %s failed: %s" % (name, e))
                    if after:
                        try:
                            after(None)
                        except RunError:
                            pass
                    continue
                if rep >= 0:
                    r["rep"] = rep
                    runs[name].append(r)
        res = self.summarise(case, server, tls, unit, amount, clients, runs)
        res.update(quiet=q, load_end=loadavg()[0], discarded=discarded)
        self.results.append(res)

    def run_ops_case(self, case, server, tls, clients, n, caps=None):
        """Each run of N operations is paired with a run of 0 operations of the same client
        (process start, connect, login, quit): the rate is N / (median wall(N) - median
        wall(0)), the CPU likewise net. caps: client name -> a smaller N for clients too slow
        for the full count (the rate is per operation, so it stays comparable)."""
        if self.skip(case, server):
            return
        if not self.servers.has(server):
            log("bench: %s [%s]: no such server in this set, skipped" % (case, server))
            return
        q = self.quiet()
        log("bench: %s [%s%s] (load %.2f, others %.2f CPUs)" % (case, server, ", TLS" if tls else "", q["load"], q["others"]))
        ctx = Ctx(self, server, tls, None)
        runs = {name: [] for name, _, _ in clients}
        failed = self.failed.setdefault((case, server), {})
        # Round trips are short next to the start of a process: more runs for a stable median.
        reps = max(self.cfg["reps"], self.cfg["ops_reps"]) if ("NOOP" in case or "SIZE" in case) else self.cfg["reps"]
        for rep in range(-self.cfg["warmup"], reps):
            for name, is_ftpc, make in self.order(clients, max(rep, 0)):
                if name in failed:
                    continue
                k = min(n, (caps or {}).get(name, n))
                try:
                    if make == "curl-per-process":
                        r = self.curl_per_process(ctx, k, server)
                        r["base"] = None
                    else:
                        r = self.measure(make(ctx, k), server)
                        r["base"] = self.measure(make(ctx, 0), server)
                except RunError as e:
                    failed[name] = str(e).splitlines()[0][:200]
                    log("bench: %s failed: %s" % (name, e))
                    continue
                r["n"] = k
                if rep >= 0:
                    runs[name].append(r)
        res = self.summarise(case, server, tls, "ops", n, clients, runs)
        res.update(quiet=q, load_end=loadavg()[0])
        self.results.append(res)

    def curl_per_process(self, ctx, n, server):
        tot = dict(wall=0.0, user=0.0, sys=0.0, maxrss_kb=0, server_cpu=0.0, bg_cpus=0.0)
        for _ in range(n):
            r = self.measure(curl_base(ctx) + ["-I", ctx.url()], server)
            for k in ("wall", "user", "sys", "server_cpu"):
                tot[k] += r[k]
            tot["bg_cpus"] += r["bg_cpus"] / n
            tot["maxrss_kb"] = max(tot["maxrss_kb"], r["maxrss_kb"])
        return tot

    def summarise(self, case, server, tls, unit, amount, clients, runs):
        rows = []
        med = statistics.median
        for name, is_ftpc, _ in clients:
            rs = runs[name]
            if not rs:
                rows.append(dict(client=name, ftpc=is_ftpc, failed=self.failed.get((case, server), {}).get(name, "no run")))
                continue
            if unit == "bytes":
                rates = [amount / r["wall"] / 1e6 for r in rs]  # MB/s
                row = dict(rate_median=med(rates), rate_min=min(rates), rate_max=max(rates),
                           cpu=med([(r["user"] + r["sys"]) * GiB / amount for r in rs]),  # s per GiB
                           cpu_sys=med([r["sys"] * GiB / amount for r in rs]),
                           server_cpu=med([r["server_cpu"] * GiB / amount for r in rs]),
                           server_sys=med([r["server_sys"] * GiB / amount for r in rs]),
                           # per repetition, for ratios of runs made in the same repetition
                           per_rep={r["rep"]: (r["wall"], r["user"] + r["sys"]) for r in rs},
                           client_util=med([(r["user"] + r["sys"]) / r["wall"] for r in rs]),
                           server_util=med([r["server_cpu"] / r["wall"] for r in rs]))
            else:
                n = rs[0].get("n", amount)
                bases = [r["base"] for r in rs if r.get("base")]

                def net(key, f=lambda r, k: r[k]):
                    full = med([f(r, key) for r in rs])
                    return full - (med([f(b, key) for b in bases]) if bases else 0.0)
                cpu_of = lambda r, k: r["user"] + r["sys"]
                wall = net("wall")
                lo_wall = min(r["wall"] for r in rs) - (med([b["wall"] for b in bases]) if bases else 0.0)
                hi_wall = max(r["wall"] for r in rs) - (med([b["wall"] for b in bases]) if bases else 0.0)
                rate = (lambda w: n / w if w > 0 else float("inf"))
                cpu, scpu = net("cpu", cpu_of), net("server_cpu")
                row = dict(rate_median=rate(wall), rate_min=rate(hi_wall), rate_max=rate(lo_wall),
                           cpu=cpu / n * 1e6, server_cpu=scpu / n * 1e6,  # µs per op
                           client_util=cpu / wall if wall > 0 else 0.0,
                           server_util=scpu / wall if wall > 0 else 0.0,
                           n=n, base_wall=med([b["wall"] for b in bases]) if bases else 0.0)
            row.update(client=name, ftpc=is_ftpc,
                       maxrss_mib=max(r["maxrss_kb"] for r in rs) / 1024,
                       bg_cpus=med([r["bg_cpus"] for r in rs]),
                       wall=[r["wall"] for r in rs])
            rows.append(row)
        peers = [r for r in rows if not r["ftpc"] and "failed" not in r]
        best = max(peers, key=lambda r: r["rate_median"]) if peers else None
        for r in rows:
            if r["ftpc"] and best and "failed" not in r:
                r["vs"] = (r["rate_median"] / best["rate_median"], best["client"])
        return dict(case=case, server=server, tls=tls, unit=unit, amount=amount, rows=rows)

    # --- the cases ---

    def check_stor(self, server):
        def check(name, r):
            pass

        def after(name):
            d = os.path.join(self.servers.home(server), "bench-data", "up")
            for f in os.listdir(d):
                p = os.path.join(d, f)
                size = os.path.getsize(p)
                os.unlink(p)
                if name is not None and size != self.cfg["big"]:
                    raise RunError("%s uploaded %d bytes, not %d" % (name, size, self.cfg["big"]))
        return check, after

    def check_pget(self, name, r):
        """Every copy of the segmented case's file must be the server's, byte for byte."""
        import hashlib
        who = {"ftpc 1 connection": "ftpc-1", "lftp get": "lftp-1"}.get(name)
        if who is None:
            who = ("ftpc-%d" if name.startswith("ftpc") else "lftp-%d") % PGET_SEGMENTS
        path = os.path.join(self.tmp, "pget-%s.bin" % who)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        os.unlink(path)
        if digest != self.data.pget_digest:
            raise RunError("%s: the downloaded file differs from the server's (SHA-256)" % name)

    def check_retr_file(self, name, r):
        """ftpc_bench checks its file and empties it itself; the peers' files must hold the
        whole download. Every file is removed after its run."""
        for f in os.listdir(self.tmp):
            if not f.startswith("retr-"):
                continue
            p = os.path.join(self.tmp, f)
            size = os.path.getsize(p)
            os.unlink(p)
            if not f.startswith("retr-ftpc-") and size != self.cfg["big"]:
                raise RunError("%s wrote %d bytes into %s, not %d" % (name, size, f, self.cfg["big"]))

    def check_retr(self, name, r):
        if name == "curl":
            got = int(r["out"].split()[-1])
            if got != self.cfg["big"]:
                raise RunError("curl received %d bytes, not %d" % (got, self.cfg["big"]))

    def capped_rate(self):
        return int(self.servers.env.get("FTPC_VSFTPD_CAPPED_RATE", "0"))

    def sweep_cases(self):
        """The block-size sweep on every server: RETR and STOR through the callback calls at
        every block size, against curl, lftp and ftplib at its block sizes; and retrlines."""
        cfg = self.cfg
        size = size_name(cfg["big"])
        for server, t in PLAIN + TLS:
            sfx = " FTPS" if t else ""
            self.run_case("sweep RETR %s%s" % (size, sfx), server, t, sweep_clients("retr", t, server), "bytes",
                          cfg["big"], check=self.check_retr)
            check, after = self.check_stor(server)
            self.run_case("sweep STOR %s%s" % (size, sfx), server, t, sweep_clients("stor", t, server), "bytes",
                          cfg["big"], check=check, after=after)
            if cfg.get("lines"):
                self.run_case("sweep RETR lines %s%s" % (size_name(cfg["lines"]), sfx), server, t,
                              sweep_clients("lines", t, server), "bytes", cfg["lines"])

    def skip(self, case, server):
        """--only (words of the case name) and --server (server instances) select cases."""
        if self.args.only and not any(x in case for x in self.args.only):
            return True
        return bool(self.args.server) and server not in self.args.server

    def all_cases(self):
        cfg = self.cfg
        size = size_name(cfg["big"])
        plain, tls = PLAIN, TLS
        if self.args.sweep:
            return self.sweep_cases()
        for group in (plain, tls):
            for server, t in group:
                self.run_case("RETR %s%s" % (size, " FTPS" if t else ""), server, t,
                              transfer_clients("retr", t, server), "bytes", cfg["big"], check=self.check_retr)
                self.run_case("RETR %s into a file%s" % (size, " FTPS" if t else ""), server, t,
                              retr_file_clients(t, server), "bytes", cfg["big"], check=self.check_retr_file)
                check, after = self.check_stor(server)
                self.run_case("STOR %s%s" % (size, " FTPS" if t else ""), server, t,
                              transfer_clients("stor", t, server), "bytes", cfg["big"], check=check, after=after)
        self.run_case("segmented RETR %s, %d MiB/s per session" % (size_name(cfg["pget"]), self.capped_rate() // MiB),
                      "vsftpd-capped", False, pget_clients(), "bytes", cfg["pget"], check=self.check_pget)
        for server, t in plain + tls:
            self.run_ops_case("%d x %d B files%s" % (cfg["small_n"], cfg["small_size"], " FTPS" if t else ""), server, t,
                              ops_clients("many", t, server), cfg["small_n"], cfg["caps"]["many-tls" if t else "many"])
        for kind in ("noop", "size"):
            for server, t in plain + tls:
                self.run_ops_case("%d %s%s" % (cfg["rt_n"], kind.upper(), " FTPS" if t else ""), server, t,
                                  ops_clients(kind, t, server), cfg["rt_n"])
        for server, t in plain + tls:
            self.run_ops_case("%d connect+login+quit%s" % (cfg["conn_n"], " FTPS" if t else ""), server, t,
                              ops_clients("connect", t, server), cfg["conn_n"], cfg["caps"]["connect"])
        for server, _ in plain:
            self.run_case("LIST %d entries" % cfg["list_n"], server, False, listing_clients("list", server), "ops", 1)
        # vsftpd 3.0.3 and BSD ftpd have no MLSD.
        for server in ("pure-ftpd", "proftpd"):
            self.run_case("MLSD %d entries" % cfg["list_n"], server, False, listing_clients("mlsd", server), "ops", 1)
        self.sweep_cases()

    # --- limits ---

    def limits(self):
        out = {}
        if self.args.only and "limits" not in self.args.only:
            return out
        log("bench: limits")
        src = self.data.upload_source
        rs = [self.measure([self.driver, "tcp-copy", "--file", src], None) for _ in range(self.cfg["tcp_reps"])]
        rates = [self.cfg["big"] / parse_ok(r["out"])["secs"] / 1e6 for r in rs]
        out["tcp_copy"] = dict(median=statistics.median(rates), min=min(rates), max=max(rates),
                               what="sendfile(2) -> loopback TCP -> read(2) into 256 KiB, one stream")
        if shutil.which("iperf3"):
            port = free_port()
            rates = []
            for _ in range(self.cfg["tcp_reps"]):
                srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port), "-B", "127.0.0.1"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.3)
                try:
                    r = spawn(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-R", "-P", "1", "-n", str(self.cfg["big"]), "-J"])
                    j = json.loads(r["out"])
                    rates.append(j["end"]["sum_received"]["bits_per_second"] / 8 / 1e6)
                finally:
                    srv.wait(timeout=30)
            out["iperf3"] = dict(median=statistics.median(rates), min=min(rates), max=max(rates),
                                 what="iperf3 -R -P 1 (server write(2)s, client read(2)s), %s" % (
                                     subprocess.run(["iperf3", "--version"], capture_output=True, text=True)
                                     .stdout.split("(")[0].strip()))
        for alg in ("aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"):
            r = subprocess.run(["openssl", "speed", "-evp", alg, "-bytes", "16384", "-seconds", "2", "-mr"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                if line.startswith("+F:"):
                    out["openssl " + alg] = dict(median=float(line.split(":")[-1]) / 1e6,
                                                 what="openssl speed -evp %s, 16 KiB records, one core" % alg)
        return out


def size_name(n):
    if n < MiB:
        return "%d KiB" % (n // KiB)
    return "%d MiB" % (n // MiB) if n < GiB else "%d GiB" % (n // GiB)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --- report ----------------------------------------------------------------------------------

def fmt_rate(r, unit):
    if r == float("inf"):
        return "n/a"
    if unit == "bytes":
        return "%.0f" % r
    return "%.0f" % r if r >= 100 else "%.1f" % r


def header(b, meta):
    L = []
    L.append("Machine: %s; %s CPUs (`nproc`); kernel %s; %s." % (meta["cpu"], meta["nproc"], meta["kernel"], meta["mem"]))
    L.append("Date: %s. Command: `%s`. Mode: %s (%d runs per client, NOOP/SIZE %d, after %d warm-up; clients alternated)." %
             (meta["date"], meta["command"], meta["mode"], b.cfg["reps"], max(b.cfg["reps"], b.cfg["ops_reps"]), b.cfg["warmup"]))
    L.append("Load average (1/5/15 min): %s at the start, %s at the end; the 1-min figure ranged %.2f-%.2f "
             "over the cases. Duration %.0f min." % (
                 "/".join("%.2f" % x for x in meta["load_start"]), "/".join("%.2f" % x for x in meta["load_end"]),
                 min(x[0] for x in b.loads), max(x[0] for x in b.loads), meta["minutes"]))
    L.append("Servers: %s (%s); data in %s." % (meta["servers"], meta["servers_why"], meta["data_fs"]))
    L.append("Versions: %s." % meta["versions"])
    L.append("")
    return L


def is_sweep(res):
    return res["case"].startswith("sweep ")


def render(b, limits, meta):
    L = header(b, meta)
    L.append("Columns: rate = median (min-max) over the runs; client CPU = user+sys of the client process "
             "(wait4), per GiB or per operation; server CPU likewise, from the server's listener (its "
             "reaped sessions); util = CPU seconds / wall seconds (1.00 = one core busy all along); "
             "RSS = the client's peak RSS (ru_maxrss); bg = CPUs busy with other work during the runs "
             "(machine busy time less client and server); vs best peer = ftpc's median / the fastest "
             "peer's median in the same case.")
    L.append("")
    sections = [("Bulk transfers (MB/s = 10^6 bytes/s)", lambda r: r["unit"] == "bytes"),
                ("Small files, round trips, connections (ops/s net of a 0-operation run of the same client)",
                 lambda r: r["unit"] == "ops" and r["amount"] > 1),
                ("Listings (listings/s; fetched and, where said, parsed)", lambda r: r["amount"] == 1)]
    for title, pred in sections:
        res = [r for r in b.results if pred(r) and not is_sweep(r)]
        if not res:
            continue
        L.append("### " + title)
        L.append("")
        bytes_unit = res[0]["unit"] == "bytes"
        cu = "s/GiB" if bytes_unit else ("ms/listing" if res[0]["amount"] == 1 else "µs/op")
        rate = "MB/s" if bytes_unit else "ops/s"
        L.append("| case | server | client | %s median (min-max) | client CPU %s | server CPU %s | util client / server | peak RSS MiB | bg CPUs | vs best peer |" % (rate, cu, cu))
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for res_ in res:
            first = True
            for row in res_["rows"]:
                if "failed" in row:
                    L.append("| %s | %s | %s | failed: %s | | | | | | |" % (
                        res_["case"] if first else "", res_["server"] if first else "", row["client"],
                        row["failed"].replace("|", "/")))
                    first = False
                    continue
                k = 1e-3 if res_["amount"] == 1 and not bytes_unit else 1  # µs -> ms per listing
                vs = ("**%.2f×** %s" % row["vs"]) if "vs" in row else ""
                L.append("| %s | %s | %s | %s (%s-%s) | %.3g | %.3g | %.2f / %.2f | %.1f | %.1f | %s |" % (
                    res_["case"] if first else "", res_["server"] if first else "",
                    row["client"] + (" (N=%d)" % row["n"] if row.get("n", res_["amount"]) != res_["amount"] else ""),
                    fmt_rate(row["rate_median"], res_["unit"]), fmt_rate(row["rate_min"], res_["unit"]),
                    fmt_rate(row["rate_max"], res_["unit"]), row["cpu"] * k, row["server_cpu"] * k,
                    row["client_util"], row["server_util"], row["maxrss_mib"], row["bg_cpus"], vs))
                first = False
        L.append("")
    if limits:
        L.append("### Machine limits")
        L.append("")
        L.append("| limit | MB/s median (min-max) | what |")
        L.append("|---|---|---|")
        for k, v in limits.items():
            mm = " (%.0f-%.0f)" % (v["min"], v["max"]) if "min" in v else ""
            L.append("| %s | %.0f%s | %s |" % (k, v["median"], mm, v["what"]))
        L.append("")
    L.append("### Targets")
    L.append("")
    L += targets(b, limits)
    return "\n".join(L) + "\n"


def rep_ratio(a, b, idx):
    """Per-repetition ratios a/b of (wall, cpu)[idx] over the repetitions both ran:
    (median, min, max), or None."""
    reps = sorted(set(a["per_rep"]) & set(b["per_rep"]))
    xs = [a["per_rep"][k][idx] / b["per_rep"][k][idx] for k in reps if b["per_rep"][k][idx] > 0]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def fmt_ratio(r, bold_above=None):
    if r is None:
        return "n/a"
    t = "%.2f (%.2f-%.2f)" % r
    return "**%s**" % t if bold_above is not None and r[0] > bold_above else t


def bottleneck(row):
    """Which side holds the transfer back, from the two processes' CPU use: a side whose core
    is (nearly) full is the limit; when neither is, the time goes elsewhere (the kernel's
    loopback path and wake-ups, waiting on each other)."""
    cu, su = row["client_util"], row["server_util"]
    if su >= 0.85 and su >= cu:
        return "server (%.2f)" % su
    if cu >= 0.85:
        return "client (%.2f)" % cu
    if cu + su >= 1.7:
        return "both cores (%.2f+%.2f)" % (cu, su)
    return "neither (%.2f / %.2f): kernel, latency" % (cu, su)


def render_sweep(b, limits, meta, head=None):
    """The block-size sweep: per direction, a table of every server's rows, ftpc's block sizes
    with ratios to the peers of the same repetitions. head: the header lines (default: this
    run's)."""
    res_all = [r for r in b.results if is_sweep(r)]
    if not res_all:
        return ""
    L = head if head is not None else header(b, meta)
    L.append("Columns: MB/s = 10^6 bytes/s, median (min-max) over the runs, whole processes (start, "
             "login, transfer, QUIT); client CPU = user+sys of the client process (wait4) per GiB, the "
             "system part in brackets; server CPU likewise, from the server's listener and its sessions; "
             "util = CPU seconds / wall seconds of each side (1.00 = one core busy throughout); "
             "**ratios are of wall time (or CPU) of ftpc over the peer's, taken run by run within a "
             "repetition, median (min-max): below 1 ftpc is faster (or cheaper)**; best ftplib = ftplib at "
             "its fastest block size in that case; fastest peer = the peer with the highest median rate; "
             "of best = this block size's median rate / ftpc's best block size's; limit = the side whose "
             "core is full (util >= 0.85), else neither.")
    L.append("")
    kinds = [("RETR", "ftp_retrbinary (callback discards), by block size",
              lambda r: " RETR " in r["case"] and "lines" not in r["case"]),
             ("STOR", "ftp_storbinary (read(2) callback from tmpfs), by block size", lambda r: " STOR " in r["case"]),
             ("RETR lines", "ftp_retrlines (TYPE A, callback counts lines) against the peers' ASCII downloads",
              lambda r: "lines" in r["case"])]
    for title, what, pred in kinds:
        rs = [r for r in res_all if pred(r)]
        if not rs:
            continue
        L.append("### %s %s" % (rs[0]["case"][len("sweep "):].replace(" FTPS", ""), what))
        L.append("")
        L.append("| server | client | MB/s median (min-max) | client CPU s/GiB (sys) | server CPU s/GiB (sys) | "
                 "util client / server | wall ftpc/curl | CPU ftpc/curl | wall ftpc/lftp | wall ftpc/best ftplib | "
                 "wall ftpc/fastest peer | of best | limit |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for res in rs:
            rows = [r for r in res["rows"] if "failed" not in r]
            peers = [r for r in rows if not r["ftpc"]]
            curl = next((r for r in peers if r["client"].startswith("curl")), None)
            lftp = next((r for r in peers if r["client"].startswith("lftp")), None)
            ftplibs = [r for r in peers if r["client"].startswith("ftplib")]
            fbest = max(ftplibs, key=lambda r: r["rate_median"]) if ftplibs else None
            fastest = max(peers, key=lambda r: r["rate_median"]) if peers else None
            ftpc_best = max((r["rate_median"] for r in rows if r["ftpc"]), default=0)
            first = True
            srv = res["server"] + (" FTPS" if res["tls"] else "")
            for row in res["rows"]:
                cell = srv if first else ""
                first = False
                if "failed" in row:
                    L.append("| %s | %s | failed: %s | | | | | | | | | | |" % (cell, row["client"], row["failed"].replace("|", "/")))
                    continue
                base = "| %s | %s | %s (%s-%s) | %.3f (%.3f) | %.3f (%.3f) | %.2f / %.2f |" % (
                    cell, row["client"] + (" (best)" if row is fbest and len(ftplibs) > 1 else ""),
                    fmt_rate(row["rate_median"], "bytes"), fmt_rate(row["rate_min"], "bytes"),
                    fmt_rate(row["rate_max"], "bytes"), row["cpu"], row["cpu_sys"], row["server_cpu"],
                    row["server_sys"], row["client_util"], row["server_util"])
                if row["ftpc"]:
                    L.append(base + " %s | %s | %s | %s | %s | %.0f%% | %s |" % (
                        fmt_ratio(rep_ratio(row, curl, 0), 1.0) if curl else "n/a",
                        fmt_ratio(rep_ratio(row, curl, 1), 1.0) if curl else "n/a",
                        fmt_ratio(rep_ratio(row, lftp, 0), 1.0) if lftp else "n/a",
                        fmt_ratio(rep_ratio(row, fbest, 0), 1.0) if fbest else "n/a (refused)",
                        (fmt_ratio(rep_ratio(row, fastest, 0), 1.0) + " " + fastest["client"]) if fastest else "n/a",
                        100 * row["rate_median"] / ftpc_best if ftpc_best else 0, bottleneck(row)))
                else:
                    L.append(base + " | | | | | | %s |" % bottleneck(row))
        L.append("")
    L.append("Load and other work per case: load = 1-min load average when the case started (it "
             "counts the benchmark's own previous case); others = CPUs busy during the 3-s quiet "
             "check before it (nothing of the benchmark running); bg = median over the runs of CPUs "
             "busy with other work (machine busy time less client and server), after discarding runs "
             "with more than %.2f (made again, at most %d times each)." % (b.args.max_bg, b.args.busy_retries))
    L.append("")
    runs = any("run" in r for r in res_all)
    L.append("| case | server | load at start / end | others before (waited) | bg CPUs median (max) | runs discarded |"
             + (" run |" if runs else ""))
    L.append("|---|---|---|---|---|---|" + ("---|" if runs else ""))
    for res in res_all:
        q = res.get("quiet", {})
        bgs = [r["bg_cpus"] for r in res["rows"] if "failed" not in r]
        L.append("| %s | %s | %.2f / %.2f | %.2f (%.0f s) | %.2f (%.2f) | %d |" % (
            res["case"][len("sweep "):], res["server"], q.get("load", 0), res.get("load_end", 0), q.get("others", 0),
            q.get("waited", 0), statistics.median(bgs) if bgs else 0, max(bgs) if bgs else 0, res.get("discarded", 0))
            + (" %s |" % res.get("run", "") if runs else ""))
    L.append("")
    if limits:
        L.append("Machine limits in the same run: " + "; ".join(
            "%s %.0f MB/s%s" % (k, v["median"], " (%.0f-%.0f)" % (v["min"], v["max"]) if "min" in v else "")
            for k, v in limits.items()) + ".")
        L.append("")
    return "\n".join(L)


def render_merged(files):
    """The sweep block from the JSON results of earlier runs: a later file's case (same case
    name and server) replaces an earlier one's. The header names every run."""
    import types
    runs = []
    for f in files:
        with open(f) as fh:
            runs.append(json.load(fh))
    merged, order = {}, []
    for i, r in enumerate(runs):
        for res in r["results"]:
            if not is_sweep(res):
                continue
            key = (res["case"], res["server"], res["tls"])
            if key not in merged:
                order.append(key)
            res["run"] = i + 1
            merged[key] = res
    last = runs[-1]["meta"]
    L = ["Machine: %s; %s CPUs (`nproc`); kernel %s; %s." % (last["cpu"], last["nproc"], last["kernel"], last["mem"])]
    for i, r in enumerate(runs):
        m, cfg = r["meta"], r["cfg"]
        mins = [x[0] for x in r["loads"]]
        cases = sorted({"%s [%s]" % (k[0][len("sweep "):], k[1]) for k, v in merged.items() if v["run"] == i + 1})
        L.append("Run %d: %s, `%s` (%d runs per client after %d warm-up); %s. Load average (1/5/15 min) %s at the "
                 "start, %s at the end, the 1-min figure %.2f-%.2f over its cases; %.0f min. Cases taken from it: %d." % (
                     i + 1, m["date"], m["command"], cfg["reps"], cfg["warmup"], m["versions"].split("; curl")[0],
                     "/".join("%.2f" % x for x in m["load_start"]), "/".join("%.2f" % x for x in m["load_end"]),
                     min(mins), max(mins), m["minutes"], len(cases)))
    L.append("Servers: %s (%s); data in %s." % (last["servers"], last["servers_why"], last["data_fs"]))
    L.append("Versions: %s." % last["versions"])
    L.append("Rendered from %s by `python3 bench/bench.py --render ...`." % ", ".join(
        "`%s`" % os.path.relpath(f, REPO) for f in files))
    L.append("")
    b = types.SimpleNamespace(results=[merged[k] for k in order], args=types.SimpleNamespace(
        max_bg=last.get("max_bg", 0.35), busy_retries=last.get("busy_retries", 3)))
    limits = next((r["limits"] for r in reversed(runs) if r.get("limits")), {})
    return render_sweep(b, limits, last, head=L)


def targets(b, limits):
    """The issue's targets, checked against this run's numbers."""
    L = ["| target | case | result | met |", "|---|---|---|---|"]
    tcp = limits.get("iperf3", limits.get("tcp_copy", {})).get("median")

    def best(rows, ftpc):
        rs = [r for r in rows if r["ftpc"] == ftpc and "failed" not in r]
        return max(rs, key=lambda r: r["rate_median"]) if rs else None

    for res in b.results:
        if is_sweep(res):
            continue
        f, p = best(res["rows"], True), best(res["rows"], False)
        if not f or not p:
            continue
        case = "%s, %s" % (res["case"], res["server"])
        curl = next((r for r in res["rows"] if r["client"].startswith("curl") and "failed" not in r), None)
        if res["unit"] == "bytes" and not res["tls"]:
            L.append("| plain transfer ≥ fastest peer | %s | %s %.0f vs %s %.0f MB/s | %s |" % (
                case, f["client"], f["rate_median"], p["client"], p["rate_median"], yes(f["rate_median"] >= p["rate_median"])))
            if tcp:
                server_bound = f["server_util"] >= 0.9
                L.append("| within 10%% of TCP limit (%.0f MB/s) unless server-bound | %s | %.0f MB/s = %.0f%%; server util %.2f, client util %.2f%s | %s |" % (
                    tcp, case, f["rate_median"], 100 * f["rate_median"] / tcp, f["server_util"], f["client_util"],
                    " (server-bound)" if server_bound else "",
                    "n/a (server-bound)" if server_bound else yes(f["rate_median"] >= 0.9 * tcp)))
            if curl:
                fcl = min((r for r in res["rows"] if r["ftpc"] and "failed" not in r), key=lambda r: r["cpu"])
                fc = fcl["cpu"]
                L.append("| client CPU/GiB ≤ ½ curl's | %s | %s %.3f vs curl %.3f s/GiB (%.0f%%) | %s |" % (
                    case, fcl["client"], fc, curl["cpu"], 100 * fc / curl["cpu"] if curl["cpu"] else 0,
                    yes(fc <= 0.5 * curl["cpu"])))
        if res["unit"] == "bytes" and res["tls"]:
            L.append("| FTPS bulk ≥ fastest peer | %s | %s %.0f vs %s %.0f MB/s | %s |" % (
                case, f["client"], f["rate_median"], p["client"], p["rate_median"], yes(f["rate_median"] >= p["rate_median"])))
        if res["unit"] == "bytes":
            worst = max(r["maxrss_mib"] for r in res["rows"] if r["ftpc"] and "failed" not in r)
            L.append("| peak RSS < 10 MiB | %s | ftpc at most %.1f MiB | %s |" % (case, worst, yes(worst < 10)))
        if "files" in res["case"] and res["tls"] and curl:
            L.append("| many small files FTPS ≥ 2× curl | %s | ftpc %.0f vs curl %.0f files/s (%.2f×) | %s |" % (
                case, f["rate_median"], curl["rate_median"], f["rate_median"] / curl["rate_median"],
                yes(f["rate_median"] >= 2 * curl["rate_median"])))
        if "NOOP" in res["case"] or "SIZE" in res["case"]:
            L.append("| round trips ≥ fastest peer | %s | ftpc %.0f vs %s %.0f ops/s | %s |" % (
                case, f["rate_median"], p["client"], p["rate_median"], yes(f["rate_median"] >= p["rate_median"])))
    return L


def yes(ok):
    return "yes" if ok else "**no**"


def versions(driver, built_from=None, servers=None):
    def first(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True)
            return (r.stdout or r.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"
    lib = os.environ.get("FTPC_BENCH_PREFIX", "")
    return "; ".join([
        "ftpc %s (release, %s)" % (first(["sh", "-c", "grep -m1 '^version' %s/Cargo.toml | cut -d'\"' -f2" % REPO]),
                                   built_from or first(["git", "-C", REPO, "describe", "--always", "--dirty"])),
        first(["curl", "--version"]).split(" (")[0] + " " + first(["curl", "--version"]).split(") ")[-1].split(" ")[0],
        first(["lftp", "--version"]).replace("| ", "").split(" Copyright")[0],
        "Python %s ftplib" % platform.python_version(),
        first(["openssl", "version"]),
        ", ".join(v for k, v in SERVER_VERSIONS.items() if servers is None or any(n.startswith(k) for n in servers)),
    ])


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    return dict(cpu=model, nproc=subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
                kernel=platform.release(), mem="%d GiB RAM" % mem)


def write_doc(path, text, block=""):
    """Replaces the block between the markers of `block` ("" the main results, "SWEEP" the
    block-size sweep) with `text`; appends the block when the file lacks it."""
    tag = (" " + block) if block else ""
    begin, end = "<!-- BEGIN GENERATED%s by bench/bench.py -->" % tag, "<!-- END GENERATED%s -->" % tag
    block = begin + "\n" + text + end + "\n"
    if os.path.exists(path):
        with open(path) as f:
            doc = f.read()
        if begin in doc and end in doc:
            doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end) + 1:]
        else:
            doc += "\n" + block
    else:
        doc = "# Benchmarks\n\n" + block
    with open(path, "w") as f:
        f.write(doc)


def pin_cpus(text):
    """--pin's "CLIENT,SERVER": two different CPUs this process may run on."""
    try:
        c, s = (int(x) for x in text.split(","))
    except ValueError:
        sys.exit("bench: --pin takes two CPU numbers, e.g. 0,1")
    allowed = os.sched_getaffinity(0)
    if c == s or c not in allowed or s not in allowed:
        sys.exit("bench: --pin %s: two different CPUs of %s needed" % (text, sorted(allowed)))
    return c, s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 repetitions")
    ap.add_argument("--sweep", action="store_true",
                    help="only the block-size sweep (and the machine limits): ftp_retrbinary / ftp_storbinary "
                         "at 4 KiB .. 16 MiB and ftp_retrlines on every server, against curl, lftp, ftplib; "
                         "writes the sweep block of docs/BENCHMARKS.md")
    ap.add_argument("--driver", help="the ftpc_bench binary (required unless --render)")
    ap.add_argument("--runner", help="the bench/runner.c binary (required unless --render)")
    ap.add_argument("--servers", choices=["auto", "own", "env"], default="auto",
                    help="auto: the default servers if running with homes on tmpfs, else own; own: start a "
                         "set in --state-dir with --port-offset; env: the set of --env")
    ap.add_argument("--env", help="env file of a running server set (default target/ftp-servers/env)")
    ap.add_argument("--state-dir", default="/dev/shm/ftpc-bench/servers")
    ap.add_argument("--port-offset", type=int, default=5000)
    ap.add_argument("--reps", type=int, help="runs per client (default 5, quick 2; NOOP/SIZE at least 10)")
    ap.add_argument("--size", type=int, help="bulk transfer size in MiB (default 1024, quick 8); the "
                                             "retrlines text file is a sixteenth of it")
    ap.add_argument("--only", action="append", help="run only cases whose name contains this (repeatable)")
    ap.add_argument("--server", action="append",
                    help="run only the cases on this server instance (vsftpd, vsftpd-tls, pure-ftpd, proftpd, "
                         "proftpd-tls, bsd-ftpd; pure-ftpd's FTPS cases are 'pure-ftpd' too; repeatable)")
    ap.add_argument("--render", nargs="+", metavar="JSON",
                    help="run nothing: write the sweep block from the results of earlier runs "
                         "(target/bench/*.json), a later file's case replacing an earlier file's same case")
    ap.add_argument("--quiet-cpus", type=float, default=0.25,
                    help="before each case, wait until other work keeps fewer CPUs than this busy (default 0.25)")
    ap.add_argument("--quiet-wait", type=float, default=600,
                    help="the longest wait for that, in seconds (default 600; 0: no wait)")
    ap.add_argument("--max-bg", type=float, default=0.35,
                    help="a bulk run during which other work kept more CPUs than this busy is discarded and "
                         "made again (default 0.35)")
    ap.add_argument("--busy-retries", type=int, default=3,
                    help="how many times a run is made again for that (default 3; then it is kept)")
    ap.add_argument("--pin", metavar="CLIENT,SERVER",
                    help="run every client on CPU CLIENT and every server (its listener, hence the sessions "
                         "it forks) on CPU SERVER, e.g. 0,1: each side keeps a core of its own, so that the "
                         "scheduler's placement of the two (same core or not, migrations) does not vary "
                         "between runs; the harness shares the client's CPU")
    ap.add_argument("--output", help="markdown file to write (default docs/BENCHMARKS.md for a full run or "
                                     "--sweep, target/bench/quick.md for --quick, target/bench/only.md for --only)")
    ap.add_argument("--command", default="bench/run.sh", help="the command line to record")
    ap.add_argument("--built-from", help="what the library was built from, to record")
    args = ap.parse_args()
    if args.render:
        text = render_merged(args.render)
        output = args.output or os.path.join(REPO, "docs/BENCHMARKS.md")
        if output.endswith("BENCHMARKS.md"):
            write_doc(output, text, "SWEEP")
        else:
            with open(output, "w") as f:
                f.write(text)
        log("bench: wrote %s" % output)
        return
    if not args.driver or not args.runner:
        ap.error("--driver and --runner are required (bench/run.sh passes them)")
    global RUNNER
    RUNNER = args.runner
    cfg = dict(QUICK if args.quick else FULL)
    if args.reps:
        cfg["reps"] = cfg["ops_reps"] = args.reps
    if args.size:
        cfg["big"] = args.size * MiB
    sweep_runs = not args.only or any("sweep" in x for x in args.only) or args.sweep
    cfg["lines"] = cfg["big"] // 16 if sweep_runs else 0
    if args.sweep:
        # The sweep needs neither the small files nor the listing.
        cfg["small_n"] = cfg["list_n"] = 0
    if args.quick:
        name = "quick"
    elif args.only:
        name = "only"
    elif args.sweep:
        name = "sweep"
    else:
        name = "results"
    output = args.output or os.path.join(REPO, {"quick": "target/bench/quick.md", "only": "target/bench/only.md"}
                                         .get(name, "docs/BENCHMARKS.md"))

    b = Bench(args, cfg)
    t_start = time.time()
    load_start = loadavg()
    limits = {}
    try:
        b.servers = Servers(args)
        if args.pin:
            b.pin = pin_cpus(args.pin)
            os.sched_setaffinity(0, {b.pin[0]})  # the harness, hence the runner and the client
        b.data = Data(b.servers, cfg, os.path.join(b.tmp, "local"))
        b.data.make()
        limits = b.limits()
        try:
            b.all_cases()
        except (Exception, KeyboardInterrupt):
            # An interrupted run (Ctrl-C) still reports the cases it finished.
            import traceback
            traceback.print_exc()
            log("bench: stopped early; reporting the cases done so far")
    finally:
        if b.data:
            b.data.remove()
        for name, cpus in b.pinned.items():
            try:  # a running set (--servers env) outlives the benchmark
                os.sched_setaffinity(b.servers.pid(name), cpus)
            except OSError:
                pass
        if b.servers:
            b.servers.stop()
        shutil.rmtree(b.tmp, ignore_errors=True)
    s = b.servers
    meta = machine()
    ports = ", ".join("%s %d" % (n, s.port(n)) for n in s.inst)
    meta.update(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(), command=args.command,
                mode=("quick" if args.quick else "full") + (", block-size sweep only" if args.sweep else ""),
                load_start=load_start, load_end=loadavg(),
                minutes=(time.time() - t_start) / 60,
                servers=("own set, state dir %s, ports %s (offset %d)" % (args.state_dir, ports, args.port_offset)
                         if s.own else "running set of %s, ports %s" % (s.env_file, ports)),
                servers_why=s.why + ("; clients pinned to CPU %d, servers to CPU %d (--pin)" % b.pin if b.pin else ""),
                data_fs="%s homes on %s, local files on %s" % (
                    s.state, getattr(b.data, "fs", "?"), "tmpfs (/dev/shm)"),
                versions=versions(args.driver, args.built_from, list(s.inst)),
                max_bg=args.max_bg, busy_retries=args.busy_retries)
    main_text = render(b, limits, meta) if any(not is_sweep(r) for r in b.results) or not args.sweep else ""
    sweep_text = render_sweep(b, limits if args.sweep else {}, meta)
    print(main_text + "\n" + sweep_text)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    if output.endswith("BENCHMARKS.md"):
        if main_text:
            write_doc(output, main_text)
        if sweep_text:
            write_doc(output, sweep_text, "SWEEP")
    else:
        with open(output, "w") as f:
            f.write(main_text + ("\n## Block-size sweep\n\n" + sweep_text if sweep_text else ""))
    json_path = os.path.join(REPO, "target/bench", "results-quick.json" if name == "quick" else name + ".json")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(dict(meta=meta, cfg=cfg, limits=limits, results=b.results, loads=b.loads), f, indent=1,
                  default=str)
    log("bench: wrote %s and %s" % (output, json_path))


if __name__ == "__main__":
    main()
