#!/usr/bin/env python3
"""Generates tests/c/null_calls.inc from include/ftpc.h: for every function of the C API
and every pointer parameter it has (function pointers included), one call with that
parameter NULL and every other argument valid, and the result the API promises.

    scripts/gen-null-test.py            rewrite tests/c/null_calls.inc
    scripts/gen-null-test.py --check    fail (and show a diff) if it is out of date

tests/c/test_hostile.c includes the file once per phase and runs the calls of that phase:

    HANDLE   the handle itself (client, data, listing, entry) is NULL: no server needed
    ONLINE   a required argument is NULL, on a client logged in to pure-ftpd: the call must
             fail with FTP_ERR_NULL_ARGUMENT *and send nothing* (the test checks afterwards
             that the control connection is still in step)
    DATA     a required argument of a data-handle function is NULL, on an open download:
             nothing may be consumed (the test then reads the whole file and compares)
    ENTRY    an argument of an entry function is NULL, on a real MLSD entry
    OFFLINE  an optional argument (documented "may be NULL", or NULL meaning a default) is
             NULL, on a fresh unconnected client: the call must accept it

A parameter that is not in EXPECT below gets the default for its function: a status-code
function must answer FTP_ERR_NULL_ARGUMENT; any other function has no default, so adding
one to the header without an entry here stops the generator with a message saying what
to add.
"""
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "ftpc.h")
OUTPUT = os.path.join(ROOT, "tests", "c", "null_calls.inc")

CALLBACK_TYPES = {
    "ftp_trace_callback": "nc_trace_cb",
    "ftp_line_callback": "nc_line_cb",
    "ftp_data_callback": "nc_data_cb",
    "ftp_read_callback": "nc_read_cb",
    "ftp_progress_callback": "nc_progress_cb",
    "ftp_multi_job_cb": "nc_job_cb",
    "ftp_multi_done_cb": "nc_done_cb",
    "ftp_multi_socket_cb": "nc_socket_cb",
    "ftp_walk_callback": "nc_walk_cb",
    "ftp_mirror_callback": "nc_mirror_cb",
}

# Handle types: (value in the test, phase when another argument is NULL).
HANDLES = {
    "struct ftp_client *": ("NC_C", "ONLINE"),
    "const struct ftp_client *": ("NC_C", "ONLINE"),
    "struct ftp_data *": ("NC_D", "DATA"),
    "const struct ftp_data *": ("NC_D", "DATA"),
    "struct ftp_listing *": ("NC_L_OWNED", "ENTRY"),
    "const struct ftp_listing *": ("NC_L", "ENTRY"),
    "const struct ftp_entry *": ("NC_E", "ENTRY"),
    "struct ftp_multi *": ("NC_M", "MULTI"),
}

# Output pointers by type.
OUTPUTS = {
    "const char **": "&nc_str",
    "uint16_t *": "&nc_u16",
    "int64_t *": "&nc_i64",
    "uint64_t *": "&nc_u64",
    "int *": "&nc_int",
    "size_t *": "&nc_size",
    "long *": "&nc_long",
    "struct ftp_mirror_summary *": "&nc_mirror_summary",
    "struct ftp_data **": "&nc_data_out",
    "struct ftp_listing **": "&nc_listing_out",
    "uint8_t *": "nc_buf",
    "const uint8_t *": "nc_buf",
    "void *": "&nc_userdata",
    "struct ssl_ctx_st *": "NULL",  # NULL is its only value the test can make; see ftp_set_ssl_ctx
}

# String arguments by parameter name; anything else gets NC_STR ("hostile-x").
STRINGS = {
    "host": "NC_HOST",
    "source_address": "NC_HOST",
    "address": "NC_HOST",
    "encoding": '"utf-8"',
    "local_path": "nc_local",
    "facts": '"type;size"',
}

# Scalars by (type, name), then by type.
SCALARS = {
    ("int64_t", "rest"): "FTP_NO_REST",
    ("int64_t", "timeout_ms"): "NC_TIMEOUT_MS",
    ("int", "fd"): "nc_fd",
    ("int", "segments"): "4",
    ("size_t", "len"): "1",
    ("uint16_t", "port"): "NC_PORT",
    "int64_t": "0",
    "int": "0",
    "size_t": "0",
    "uint16_t": "0",
}

# What a NULL handle gives, for functions that do not return a status code.
HANDLE_RESULTS = {
    "ftp_is_connected": ("NC_VAL", "0"),
    "ftp_last_reply_code": ("NC_VAL", "0"),
    "ftp_last_error_code": ("NC_VAL", "FTP_ERR_NULL_ARGUMENT"),
    # Never NULL: a static message says the handle is NULL.
    "ftp_last_error": ("NC_NOTNULL", "0"),
    "ftp_is_tls": ("NC_VAL", "0"),
    "ftp_listing_count": ("NC_VAL", "0"),
    "ftp_entry_type": ("NC_VAL", "FTP_ENTRY_UNKNOWN"),
    "ftp_entry_format": ("NC_VAL", "FTP_FORMAT_UNPARSED"),
    "ftp_entry_size": ("NC_VAL", "-1"),
    "ftp_entry_mtime": ("NC_VAL", "0"),
    "ftp_entry_mode": ("NC_VAL", "-1"),
    "ftp_entry_fact_count": ("NC_VAL", "0"),
    "ftp_entry_fact_at": ("NC_VAL", "0"),
    "ftp_data_size": ("NC_VAL", "-1"),
    "ftp_last_transfer_bytes": ("NC_VAL", "0"),
}

# Arguments that may be NULL (or where NULL is not FTP_ERR_NULL_ARGUMENT): phase, check, want.
# OFFLINE runs on a fresh client that is not connected, so most give FTP_ERR_WRONG_STATE:
# the NULL was accepted and the call went on to need a connection.
WS = ("OFFLINE", "NC_RC", "FTP_ERR_WRONG_STATE")
OK = ("OFFLINE", "NC_RC", "FTP_OK")
ACCEPTED = ("OFFLINE", "NC_ACCEPTED", "0")  # outcome depends on the machine: just not NULL_ARGUMENT
EXPECT = {
    # Nothing listens on 127.0.0.1:1: the NULL source address was accepted, the connect refused.
    ("ftp_connect", "source_address"): ("OFFLINE", "NC_RC", "FTP_ERR_IO"),
    # ftp_open always uses port 21; ftp_login_netrc reads $HOME/.netrc.
    ("ftp_open", "user"): ACCEPTED,
    ("ftp_open", "passwd"): ACCEPTED,
    ("ftp_open", "acct"): ACCEPTED,
    ("ftp_open", "source_address"): ACCEPTED,
    ("ftp_open", "encoding"): ACCEPTED,
    ("ftp_login_netrc", "path"): ACCEPTED,
    ("ftp_login", "user"): WS,
    ("ftp_login", "passwd"): WS,
    ("ftp_login", "acct"): WS,
    ("ftp_sendcmd", "out"): WS,
    ("ftp_voidcmd", "out"): WS,
    ("ftp_mkd", "out"): WS,
    ("ftp_getresp", "out"): WS,
    ("ftp_voidresp", "out"): WS,
    ("ftp_set_trace_callback", "callback"): OK,
    ("ftp_set_trace_callback", "userdata"): OK,
    ("ftp_set_active_address", "address"): OK,
    ("ftp_set_source_address", "source_address"): OK,  # NULL: bind nothing
    ("ftp_set_tls_ca_pem", "pem"): OK,
    ("ftp_nlst", "arg"): WS,
    ("ftp_nlst", "callback"): WS,
    ("ftp_nlst", "userdata"): WS,
    ("ftp_dir", "arg"): WS,
    ("ftp_dir", "callback"): WS,
    ("ftp_dir", "userdata"): WS,
    ("ftp_mlsd", "path"): WS,
    ("ftp_mlsd", "facts"): WS,
    ("ftp_mlst", "path"): WS,
    ("ftp_list", "path"): WS,
    ("ftp_set_tls_ca_file", "path"): OK,
    ("ftp_set_tls_ca_dir", "path"): OK,
    ("ftp_set_tls_client_cert", "cert_file"): OK,
    # The certificate "hostile-x" is loaded at once and is no file: the NULL key was accepted.
    ("ftp_set_tls_client_cert", "key_file"): ("OFFLINE", "NC_RC", "FTP_ERR_TLS"),
    ("ftp_set_ssl_ctx", "ctx"): OK,
    ("ftp_retrbinary", "userdata"): WS,
    ("ftp_retrlines", "callback"): WS,
    ("ftp_retrlines", "userdata"): WS,
    ("ftp_storbinary", "userdata"): WS,
    ("ftp_storbinary", "callback"): WS,
    ("ftp_storlines", "userdata"): WS,
    ("ftp_storlines", "callback"): WS,
    ("ftp_retrieve_to_fd", "progress"): WS,
    ("ftp_retrieve_to_fd", "userdata"): WS,
    ("ftp_retrieve_to_fd", "out"): WS,
    ("ftp_store_from_fd", "progress"): WS,
    ("ftp_store_from_fd", "userdata"): WS,
    ("ftp_store_from_fd", "out"): WS,
    ("ftp_resume_download", "progress"): WS,
    ("ftp_resume_download", "userdata"): WS,
    ("ftp_resume_download", "out"): WS,
    ("ftp_resume_upload", "progress"): WS,
    ("ftp_resume_upload", "userdata"): WS,
    ("ftp_resume_upload", "out"): WS,
    ("ftp_retrieve_file", "progress"): WS,
    ("ftp_retrieve_file", "userdata"): WS,
    ("ftp_store_file", "progress"): WS,
    ("ftp_store_file", "userdata"): WS,
    ("ftp_retrieve_segmented", "progress"): WS,
    ("ftp_retrieve_segmented", "userdata"): WS,
    ("ftp_retrieve_segmented", "out_size"): WS,
    ("ftp_retrieve_segmented", "out_connections"): WS,
    ("ftp_mirror", "callback"): WS,
    ("ftp_mirror", "userdata"): WS,
    ("ftp_mirror", "out"): WS,
    ("ftp_walk", "path"): WS,
    ("ftp_walk", "userdata"): WS,
    ("ftp_walk", "out_refused"): WS,
    # On a real MLSD entry of a regular file from pure-ftpd (facts, unique, no link target).
    ("ftp_entry_name", "out_len"): ("ENTRY", "NC_NOTNULL", "0"),
    ("ftp_entry_link_target", "out_len"): ("ENTRY", "NC_ISNULL", "0"),
    ("ftp_entry_unique", "out_len"): ("ENTRY", "NC_NOTNULL", "0"),
    ("ftp_entry_raw", "out_len"): ("ENTRY", "NC_NOTNULL", "0"),
    ("ftp_entry_permissions", "out_len"): ("ENTRY", "NC_NOTNULL", "0"),
    ("ftp_entry_mtime", "out"): ("ENTRY", "NC_VAL", "0"),
    ("ftp_entry_fact_at", "out_name"): ("ENTRY", "NC_VAL", "1"),
    ("ftp_entry_fact_at", "out_value"): ("ENTRY", "NC_VAL", "1"),
    ("ftp_entry_fact", "name"): ("ENTRY", "NC_ISNULL", "0"),
    # MULTI runs on a new multi handle with the logged-in client. A NULL done callback or
    # userdata is allowed: the first starts a job (nc_job_cb, which makes no call) on the
    # client, the second then finds it taken; the NULL-`out` perform runs that job.
    ("ftp_multi_set_socket_callback", "callback"): ("MULTI", "NC_RC", "FTP_OK"),
    ("ftp_multi_set_socket_callback", "userdata"): ("MULTI", "NC_RC", "FTP_OK"),
    ("ftp_multi_start", "done"): ("MULTI", "NC_RC", "FTP_OK"),
    ("ftp_multi_start", "userdata"): ("MULTI", "NC_RC", "FTP_ERR_BUSY"),
    ("ftp_multi_perform", "out"): ("MULTI", "NC_RC", "FTP_OK"),
    ("ftp_multi_socket_action", "out"): ("MULTI", "NC_RC", "FTP_OK"),
    ("ftp_multi_wait", "out"): ("MULTI", "NC_RC", "FTP_OK"),
}


def fail(message):
    sys.exit(f"gen-null-test.py: {message}")


def parse_header(text):
    """(return type, name, [(type, name)]) for every function declaration."""
    body = text[text.index('extern "C" {'):]
    decls = re.findall(r"^([A-Za-z_][\w \*]*?[\s\*])(ftp_\w+)\(([^;]*?)\);", body, re.M | re.S)
    if len(decls) < 50:
        fail(f"found only {len(decls)} functions in {HEADER}: has its layout changed?")
    functions = []
    for ret, name, params in decls:
        params = " ".join(params.split())
        args = []
        if params != "void":
            for p in params.split(","):
                m = re.match(r"^(.*?)\s*(\w+)$", p.strip())
                if not m:
                    fail(f"cannot read parameter {p!r} of {name}")
                ptype = re.sub(r"\s*\*", " *", m.group(1)).replace("* *", "**").strip()
                args.append((ptype, m.group(2)))
        functions.append((" ".join(ret.split()).replace(" *", " *"), name, args))
    return functions


def is_pointer(ptype):
    return "*" in ptype or ptype in CALLBACK_TYPES


def value(ptype, pname):
    if ptype in HANDLES:
        return HANDLES[ptype][0]
    if ptype in CALLBACK_TYPES:
        return CALLBACK_TYPES[ptype]
    if ptype == "const char *":
        return STRINGS.get(pname, "NC_STR")
    if ptype in OUTPUTS:
        return OUTPUTS[ptype]
    if (ptype, pname) in SCALARS:
        return SCALARS[(ptype, pname)]
    if ptype in SCALARS:
        return SCALARS[ptype]
    fail(f"no test value for parameter {ptype} {pname}: add one to gen-null-test.py")


def expectation(ret, name, args, index):
    ptype, pname = args[index]
    if (name, pname) in EXPECT:
        return EXPECT[(name, pname)]
    handle = index == 0 and ptype in HANDLES
    if ret == "void":
        if handle:
            return ("HANDLE", "NC_VOID", "0")
        fail(f"{name}({pname} = NULL): add an expectation to EXPECT in gen-null-test.py")
    if handle:
        if name in HANDLE_RESULTS:
            return ("HANDLE",) + HANDLE_RESULTS[name]
        if ret == "int":
            return ("HANDLE", "NC_RC", "FTP_ERR_NULL_ARGUMENT")
        if "*" in ret:
            return ("HANDLE", "NC_ISNULL", "0")
        fail(f"{name}({pname} = NULL) returns {ret}: add it to HANDLE_RESULTS in gen-null-test.py")
    first_type = args[0][0] if args else ""
    if ret == "int" and first_type in HANDLES and HANDLES[first_type][1] in ("ONLINE", "DATA", "MULTI"):
        return (HANDLES[first_type][1], "NC_RC", "FTP_ERR_NULL_ARGUMENT")
    fail(f"{name}({pname} = NULL): add an expectation to EXPECT in gen-null-test.py")


def generate():
    functions = parse_header(open(HEADER).read())
    lines = [
        "/* GENERATED by scripts/gen-null-test.py from include/ftpc.h - DO NOT EDIT.",
        " * One call per pointer parameter of every function, that parameter NULL:",
        " * NULL_CALL(phase, check, what, call, want); see tests/c/test_hostile.c. */",
    ]
    count = 0
    for ret, name, args in functions:
        for i, (ptype, pname) in enumerate(args):
            if not is_pointer(ptype):
                continue
            phase, check, want = expectation(ret, name, args, i)
            call_args = ["NULL" if j == i else value(t, n) for j, (t, n) in enumerate(args)]
            call = f"{name}({', '.join(call_args)})"
            lines.append(f'NULL_CALL({phase}, {check}, "{name}({pname}=NULL)", {call}, {want})')
            count += 1
    lines.append(f"#define NULL_CALLS_TOTAL {count}")
    used = {(n, p) for _, n, args in functions for _, p in args}
    stale = sorted(k for k in EXPECT if k not in used)
    if stale:
        fail(f"EXPECT names parameters the header no longer has: {stale}")
    return "\n".join(lines) + "\n"


def main():
    text = generate()
    if sys.argv[1:] == ["--check"]:
        current = open(OUTPUT).read() if os.path.exists(OUTPUT) else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), OUTPUT, "regenerated"))
            fail("tests/c/null_calls.inc is out of date with include/ftpc.h: run scripts/gen-null-test.py")
        print("tests/c/null_calls.inc is up to date")
    elif not sys.argv[1:]:
        with open(OUTPUT, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(OUTPUT, ROOT)}")
    else:
        fail("usage: gen-null-test.py [--check]")


if __name__ == "__main__":
    main()
