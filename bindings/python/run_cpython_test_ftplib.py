"""Runs CPython's own Lib/test/test_ftplib.py against ftpc_ftplib (issue 18).

The test module of the Python running this script (``test.test_ftplib``, from the
interpreter's standard library: on Debian the package libpython3.X-testsuite) is read, its
one line ``import ftplib`` becomes ``import ftpc_ftplib as ftplib`` in memory, and it runs
under unittest. Nothing else in it changes, and no copy of it is written anywhere: it runs
as a module whose ``__file__`` is the original's, so that its certificates
(``certdata/`` or ``*.pem`` beside it, depending on the version) are found.

Two runs, each in a process of its own:

- ``verified``: the drop-in as it is, certificate verification on by default;
- ``unverified``: the runner sets ``ftpc_ftplib.FTP_TLS.verify = False`` first, which gives
  FTP_TLS ftplib's default (no verification when no context is passed).

Each must pass every test except the deliberate differences listed below (each names the
entry of ftpc_ftplib's docstring that explains it); a listed test that passes fails the run
too, so that the list stays as short as it can be. Skipped tests are counted, not failed.
The list and the docstring must agree: each reason below starts exactly one of the
docstring's entries marked [test: ...] (whitespace and ``literal`` markup aside), and each
such entry is some reason's; a mismatch fails the run.

Usage: python3 run_cpython_test_ftplib.py [-v] [verified|unverified ...]
(no run named: both). ftpc_ftplib is imported as any program imports it (the installed
module, the library through $FTPC_LIBRARY or the dynamic linker). Exit status 0 when both
runs are as expected, 1 when not, 2 when test_ftplib cannot be found.
"""

import importlib.util
import os
import re
import subprocess
import sys
import time
import types
import unittest

# Deliberate differences: test id (class.method) -> the entry of ftpc_ftplib's docstring
# that explains it (its first words).
_VERIFY = "Certificates and host names are verified"
_SOCK_TLS = "sock and the data connections are not sockets"
_GREETING = "A reply line must start with a 3-digit code"
_ALL = "__all__ is ftplib's plus TransferAborted and version"

DIFFERENCES = {
    "TestTLS_FTPClass.test_control_connection": _SOCK_TLS,
    "TestTLS_FTPClass.test_login": _SOCK_TLS,
    "TestTLS_FTPClass.test_ccc": _SOCK_TLS,
    "TestTLS_FTPClass.test_context": _SOCK_TLS,
    "TestTLS_FTPClass.test_data_connection": _SOCK_TLS,
    "TestTimeouts.testTimeoutDefault": _GREETING,
    "TestTimeouts.testTimeoutNone": _GREETING,
    "TestTimeouts.testTimeoutValue": _GREETING,
    "TestTimeouts.testTimeoutConnect": _GREETING,
    "TestTimeouts.testTimeoutDifferentOrder": _GREETING,
    "TestTimeouts.testTimeoutDirectAccess": _GREETING,
    "MiscTestCase.test__all__": _ALL,
}

# With verification on, every TLS test fails for that reason alone: each makes a handshake
# with the test server, whose certificate is signed by CPython's test CA (pycacert.pem),
# which no system store holds. (test_context passes a context that does not verify, and is
# listed above.)
_TLS_CLASSES = ("TestTLS_FTPClassMixin", "TestTLS_FTPClass")

RUNS = ("verified", "unverified")


def find_test_ftplib():
    """The path of this interpreter's test/test_ftplib.py, or exit 2 saying how to get it."""
    try:
        spec = importlib.util.find_spec("test.test_ftplib")
    except ImportError:
        spec = None
    if spec is None or not spec.origin or not os.path.exists(spec.origin):
        v = "%d.%d" % sys.version_info[:2]
        sys.stderr.write(
            "run_cpython_test_ftplib.py: CPython's test_ftplib is not installed for %s "
            "(Python %s, standard library in %s).\n"
            "On Debian: apt-get install libpython%s-testsuite (scripts/setup.sh installs it); "
            "a Python built from source (pyenv) has it in lib/python%s/test/.\n"
            % (sys.executable, sys.version.split()[0], os.path.dirname(os.__file__), v, v))
        sys.exit(2)
    return spec.origin


def load_module(path):
    """test_ftplib with its import of ftplib replaced by the drop-in, as a module object
    whose __file__ is the original's."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    pattern = re.compile(r"^import ftplib$", re.M)
    if len(pattern.findall(source)) != 1 or re.search(r"^\s*from ftplib import", source, re.M):
        raise SystemExit("run_cpython_test_ftplib.py: %s does not have exactly one "
                         "'import ftplib' line to replace" % path)
    source = pattern.sub("import ftpc_ftplib as ftplib", source)
    module = types.ModuleType("test_ftplib_on_ftpc")
    module.__file__ = path
    sys.modules[module.__name__] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def docstring_mismatches(doc):
    """What disagrees between the reasons listed here and the entries of ftpc_ftplib's
    docstring marked [test: ...] (whitespace and ``literal`` markup aside): one line per
    problem."""
    entries = [" ".join(e.replace("``", "").split()) for e in re.split(r"\n\s*- ", doc or "")[1:]]
    entries = [e for e in entries if "[test:" in e]
    reasons = set(DIFFERENCES.values()) | {_VERIFY}
    problems = []
    for reason in sorted(reasons):
        n = sum(e.startswith(reason) for e in entries)
        if n != 1:
            problems.append("reason %r starts %d of the docstring's [test: ...] entries, "
                            "not 1" % (reason, n))
    for e in entries:
        if not any(e.startswith(r) for r in reasons):
            problems.append("docstring entry %r... is marked [test: ...] but no listed "
                            "difference names it" % e[:60])
    return problems


def expected_failures(run, test_ids):
    """The ids of the tests listed as deliberate differences for this run."""
    expected = {t for t in DIFFERENCES if t in test_ids}
    if run == "verified":
        expected |= {t for t in test_ids if t.split(".")[0] in _TLS_CLASSES}
    return expected


def short_id(test):
    """Class.method of a test, or of the test a subTest belongs to."""
    test = getattr(test, "test_case", test)  # unittest's _SubTest
    return ".".join(test.id().split(".")[-2:])


class _Result(unittest.TextTestResult):
    """unittest runs no tearDown after a setUp that failed, as every TLS test's does in the
    verified run (its auth() refuses the test certificate). The test's server thread would
    then run on, sharing asyncore's global socket map with the servers of later tests: two
    threads driving the same SSL objects crash the interpreter (a double free in _ssl,
    seen with Debian's Python 3.11.2). So after such a test the runner calls its tearDown,
    as an addCleanup in the test would have; the test stays failed."""

    def stopTest(self, test):
        server = getattr(test, "server", None)
        if server is not None and getattr(server, "active", False):
            try:
                test.tearDown()
            except Exception as e:  # the test already failed; say so and go on
                self.stream.write("\n(tearDown after a failed setUp of %s: %r)\n" % (test.id(), e))
        super().stopTest(test)


def child(run, verbosity):
    """One run, in this process: prints one line per test that did not pass and a result
    line `RESULT run total passed failed skipped unexpected-failures unexpected-passes
    docstring-mismatches seconds`."""
    import ftpc_ftplib
    print("ftpc_ftplib %s from %s, ftpc %s; Python %s (%s)" % (
        run, ftpc_ftplib.__file__, ftpc_ftplib.version(), sys.version.split()[0], sys.executable))
    doc_problems = docstring_mismatches(ftpc_ftplib.__doc__)
    if run == "unverified":
        ftpc_ftplib.FTP_TLS.verify = False
    path = find_test_ftplib()
    print("test_ftplib from %s" % path)
    module = load_module(path)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)

    def ids(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from ids(t)
            else:
                yield short_id(t)
    all_ids = set(ids(suite))
    expected = expected_failures(run, all_ids)
    start = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity, resultclass=_Result)
    result = runner.run(suite)
    took = time.monotonic() - start

    failed = {short_id(t) for t, _ in result.failures + result.errors}
    skipped = {short_id(t) for t, _ in result.skipped}
    passed = all_ids - failed - skipped
    unexpected_failures = sorted(failed - expected)
    unexpected_passes = sorted(expected & passed)
    for t in sorted(failed & expected):
        why = DIFFERENCES.get(t, _VERIFY)
        print("  listed difference, failed as expected: %s  (%s)" % (t, why))
    for t in unexpected_failures:
        print("  UNEXPECTED FAILURE: %s" % t)
    for t in unexpected_passes:
        print("  LISTED BUT PASSED (remove it from the list): %s" % t)
    for p in doc_problems:
        print("  LIST AND DOCSTRING DISAGREE: %s" % p)
    print("RESULT %s %d %d %d %d %d %d %d %.1f" % (run, result.testsRun, len(passed), len(failed),
                                                   len(skipped), len(unexpected_failures),
                                                   len(unexpected_passes), len(doc_problems),
                                                   took))
    sys.stdout.flush()
    return 0 if not unexpected_failures and not unexpected_passes and not doc_problems else 1


def main(argv):
    verbosity = 2 if "-v" in argv else 1
    runs = [a for a in argv if a in RUNS]
    children = [a.split("=", 1)[1] for a in argv if a.startswith("--child=")]
    if any(a not in RUNS and a != "-v" and not a.startswith("--child=") for a in argv):
        sys.stderr.write(__doc__)
        return 2
    if children:
        return child(children[0], verbosity)
    find_test_ftplib()  # fail early and clearly
    ok = True
    summary = []
    for run in runs or RUNS:
        print("\n==== CPython test_ftplib on ftpc_ftplib, %s run" % run)
        sys.stdout.flush()
        args = [sys.executable, os.path.abspath(__file__), "--child=" + run]
        args += ["-v"] if verbosity > 1 else []
        output = []
        pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with subprocess.Popen(args, **pipe) as proc:
            for line in proc.stdout:  # shown as it comes, kept for the result line
                sys.stdout.write(line)
                sys.stdout.flush()
                output.append(line)
        m = re.search(r"^RESULT (\S+)" + r" (\d+)" * 7 + r" (\S+)$", "".join(output), re.M)
        if m is None:
            ok = False
            summary.append("%s: did not complete (exit status %d)" % (run, proc.returncode))
            continue
        _, total, passed, failed, skipped, unexp_fail, unexp_pass, doc_bad, took = m.groups()
        good = proc.returncode == 0 and unexp_fail == "0" and unexp_pass == "0" and doc_bad == "0"
        ok = ok and good
        summary.append("%s: %s passed, %s failed (%s)%s, %s skipped of %s in %s s" % (
            run, passed, failed,
            "all listed differences" if unexp_fail == "0" else "%s not listed" % unexp_fail,
            "" if unexp_pass == "0" else ", %s listed but passed" % unexp_pass
            + ("" if doc_bad == "0" else ", %s disagreements with the docstring" % doc_bad),
            skipped, total, took))
    print("\ncpython-test_ftplib: %s; %s" % ("; ".join(summary), "ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
