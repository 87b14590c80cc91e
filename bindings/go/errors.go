package ftpc

/*
#include <ftpc.h>
*/
import "C"

import "fmt"

// Code is one of ftpc's status codes (FTP_ERR_* in ftpc.h). Each non-zero Code is also an
// error, so the constants below are sentinel values for errors.Is:
//
//	if errors.Is(err, ftpc.ErrPerm) { ... }
type Code int

// The status codes of ftpc.h, fixed and never renumbered.
const (
	ErrReply           Code = C.FTP_ERR_REPLY            // a valid reply, but not the one expected (ftplib error_reply)
	ErrTemp            Code = C.FTP_ERR_TEMP             // 4xx reply (ftplib error_temp)
	ErrPerm            Code = C.FTP_ERR_PERM             // 5xx reply (ftplib error_perm)
	ErrProto           Code = C.FTP_ERR_PROTO            // malformed reply (ftplib error_proto)
	ErrIO              Code = C.FTP_ERR_IO               // system I/O error
	ErrEOF             Code = C.FTP_ERR_EOF              // the server closed the connection
	ErrTimeout         Code = C.FTP_ERR_TIMEOUT          // connect, accept, read or write timed out
	ErrTLS             Code = C.FTP_ERR_TLS              // TLS failure, AUTH refused
	ErrCertificate     Code = C.FTP_ERR_CERTIFICATE      // certificate or host name verification failed
	ErrInvalidArgument Code = C.FTP_ERR_INVALID_ARGUMENT // bad argument, CR/LF/NUL in a command
	ErrLineTooLong     Code = C.FTP_ERR_LINE_TOO_LONG    // a reply or listing line over 8192 bytes
	ErrReplyTooLong    Code = C.FTP_ERR_REPLY_TOO_LONG   // a reply over 10,000 lines or 4 MiB
	ErrWrongState      Code = C.FTP_ERR_WRONG_STATE      // not connected, TLS already on, ...
	ErrEncoding        Code = C.FTP_ERR_ENCODING         // text the chosen encoding cannot carry
	ErrNullArgument    Code = C.FTP_ERR_NULL_ARGUMENT    // a required pointer was NULL (a bug in this package)
	ErrStopped         Code = C.FTP_ERR_STOPPED          // the transfer was stopped (Abort, or a Writer/Reader error)
	ErrBusy            Code = C.FTP_ERR_BUSY             // the handle is already in a call
	ErrPanic           Code = C.FTP_ERR_PANIC            // an internal panic in the library; Close the client
	ErrTruncated       Code = C.FTP_ERR_TRUNCATED        // a download shorter than announced
	ErrUnsupported     Code = C.FTP_ERR_UNSUPPORTED      // the server lacks the command (MLSD on vsftpd)
	ErrNetrc           Code = C.FTP_ERR_NETRC            // netrc unreadable, malformed or without an entry
)

// Error returns ftp_strerror's static text for the code.
func (c Code) Error() string {
	return "ftpc: " + C.GoString(C.ftp_strerror(C.int(c)))
}

var codeNames = map[Code]string{
	C.FTP_OK:           "OK",
	ErrReply:           "ErrReply",
	ErrTemp:            "ErrTemp",
	ErrPerm:            "ErrPerm",
	ErrProto:           "ErrProto",
	ErrIO:              "ErrIO",
	ErrEOF:             "ErrEOF",
	ErrTimeout:         "ErrTimeout",
	ErrTLS:             "ErrTLS",
	ErrCertificate:     "ErrCertificate",
	ErrInvalidArgument: "ErrInvalidArgument",
	ErrLineTooLong:     "ErrLineTooLong",
	ErrReplyTooLong:    "ErrReplyTooLong",
	ErrWrongState:      "ErrWrongState",
	ErrEncoding:        "ErrEncoding",
	ErrNullArgument:    "ErrNullArgument",
	ErrStopped:         "ErrStopped",
	ErrBusy:            "ErrBusy",
	ErrPanic:           "ErrPanic",
	ErrTruncated:       "ErrTruncated",
	ErrUnsupported:     "ErrUnsupported",
	ErrNetrc:           "ErrNetrc",
}

// String gives the constant's name ("ErrPerm"; "OK" for 0), or "Code(N)" for a code this
// package does not know. (fmt's %v prints an error's Error() text; use %s with String()
// or %d for the number.)
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// fromReply tells whether errors with this code come from a server reply, so that the
// handle's last reply is the one that caused them (see ReplyCode).
func (c Code) fromReply() bool {
	return c == ErrReply || c == ErrTemp || c == ErrPerm || c == ErrProto || c == ErrUnsupported
}

// Error is the error every Client method returns when the library reports a failure.
// errors.Is(err, ErrPerm) (or any other Code) tests its class.
type Error struct {
	Op        string // the operation, e.g. "RETR hello.txt" or "login"
	Code      Code   // the status code
	ReplyCode int    // the reply that caused it (e.g. 530) for ErrReply/Temp/Perm/Proto/Unsupported, else 0
	ReplyText string // that reply's full text (all lines, codes included), else ""
	Message   string // ftp_last_error: the library's message, with its cause
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = C.GoString(C.ftp_strerror(C.int(e.Code)))
	}
	if e.Op == "" {
		return "ftpc: " + msg
	}
	return fmt.Sprintf("ftpc: %s: %s", e.Op, msg)
}

// Unwrap gives the Code, so that errors.Is(err, ftpc.ErrPerm) works.
func (e *Error) Unwrap() error { return e.Code }
