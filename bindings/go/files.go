package ftpc

/*
#include <ftpc.h>
#include <stdint.h>

// The Go side is ftpcGoProgress (callbacks.go); userdata is a cgo.Handle as a uintptr_t.
extern int ftpcGoProgress(uintptr_t h, uint64_t done, int64_t total);

static int ftpc_progress_cb(void *ud, uint64_t done, int64_t total) { return ftpcGoProgress((uintptr_t)ud, done, total); }

static int ftpc_go_retrieve_file(ftp_client *c, const char *remote, const char *local, uintptr_t h) {
	return ftp_retrieve_file(c, remote, local, ftpc_progress_cb, (void *)h);
}
static int ftpc_go_store_file(ftp_client *c, const char *local, const char *remote, uintptr_t h) {
	return ftp_store_file(c, local, remote, ftpc_progress_cb, (void *)h);
}
static int ftpc_go_retrieve_to_fd(ftp_client *c, const char *remote, int fd, int64_t rest, uintptr_t h, uint64_t *out) {
	return ftp_retrieve_to_fd(c, remote, fd, rest, ftpc_progress_cb, (void *)h, out);
}
static int ftpc_go_store_from_fd(ftp_client *c, const char *remote, int fd, int64_t rest, int append, uintptr_t h, uint64_t *out) {
	return ftp_store_from_fd(c, remote, fd, rest, append, ftpc_progress_cb, (void *)h, out);
}
static int ftpc_go_resume_download(ftp_client *c, const char *remote, int fd, uintptr_t h, uint64_t *out) {
	return ftp_resume_download(c, remote, fd, ftpc_progress_cb, (void *)h, out);
}
static int ftpc_go_resume_upload(ftp_client *c, const char *remote, int fd, uintptr_t h, uint64_t *out) {
	return ftp_resume_upload(c, remote, fd, ftpc_progress_cb, (void *)h, out);
}
*/
import "C"

import (
	"os"
	"runtime"
)

// Progress reports how a whole-file transfer (RetrieveFile, StoreFile, RetrieveTo,
// StoreFrom, ResumeDownload, ResumeUpload) goes: done is the bytes done so far, a resumed
// transfer's offset included; total is the whole file's size (a download: the remote size
// from the server's 150 reply or SIZE; an upload: the offset plus what is left of the local
// file), or -1 when unknown. It is called on the goroutine that made the call, after each
// block. A non-nil error stops the transfer (ABOR; the connection stays usable) and is
// what the call returns. A nil Progress is allowed.
type Progress func(done uint64, total int64) error

// fileTransfer runs one of the whole-file calls with s's handle as the progress userdata.
// The progress callback is always installed, also for a nil Progress, so that Abort stops
// these transfers as it stops Retr and Stor.
func (c *Client) fileTransfer(op string, progress Progress, strs []string, f func(h *C.ftp_client, ps []*C.char, ud C.uintptr_t) C.int) error {
	s := &callState{progress: progress}
	return withStrings(op, strs, func(ps []*C.char) error {
		return c.withTransfer(op, s, func(h *C.ftp_client, ud C.uintptr_t) C.int {
			return f(h, ps, ud)
		})
	})
}

// RetrieveFile downloads remote into the local file local (ftp_retrieve_file). The local
// file is created (mode 0666 less the umask) or truncated only once the server has accepted
// the transfer: a refused download (e.g. ErrPerm for a missing file) leaves an existing
// file as it was and creates none. A download that fails after that leaves the bytes that
// arrived, which ResumeDownload continues. On success the data is on disk (fdatasync).
func (c *Client) RetrieveFile(remote, local string, progress Progress) error {
	return c.fileTransfer("RETR "+remote, progress, []string{remote, local}, func(h *C.ftp_client, p []*C.char, ud C.uintptr_t) C.int {
		return C.ftpc_go_retrieve_file(h, p[0], p[1], ud)
	})
}

// StoreFile uploads the local file local to remote with STOR (ftp_store_file).
func (c *Client) StoreFile(local, remote string, progress Progress) error {
	return c.fileTransfer("STOR "+remote, progress, []string{local, remote}, func(h *C.ftp_client, p []*C.char, ud C.uintptr_t) C.int {
		return C.ftpc_go_store_file(h, p[0], p[1], ud)
	})
}

// fdTransfer is fileTransfer for the calls on an *os.File, which return a byte count.
func (c *Client) fdTransfer(op, remote string, f *os.File, progress Progress, call func(h *C.ftp_client, p *C.char, fd C.int, ud C.uintptr_t, out *C.uint64_t) C.int) (uint64, error) {
	if f == nil {
		return 0, &Error{Op: op, Code: ErrInvalidArgument, Message: "nil *os.File"}
	}
	var n C.uint64_t
	fd := C.int(f.Fd())
	err := c.fileTransfer(op, progress, []string{remote}, func(h *C.ftp_client, p []*C.char, ud C.uintptr_t) C.int {
		return call(h, p[0], fd, ud, &n)
	})
	runtime.KeepAlive(f) // the descriptor must stay open during the call
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// RetrieveTo downloads remote into f, written from f's current position
// (ftp_retrieve_to_fd), from byte offset of the remote file (REST) when offset >= 0. It
// returns the bytes received. A download cut short is an error (ErrTruncated or another),
// never success; LastTransferBytes then tells how much arrived. f stays open.
func (c *Client) RetrieveTo(remote string, f *os.File, offset int64, progress Progress) (uint64, error) {
	if offset < 0 {
		offset = C.FTP_NO_REST
	}
	return c.fdTransfer("RETR "+remote, remote, f, progress, func(h *C.ftp_client, p *C.char, fd C.int, ud C.uintptr_t, out *C.uint64_t) C.int {
		return C.ftpc_go_retrieve_to_fd(h, p, fd, C.int64_t(offset), ud, out)
	})
}

// StoreFrom uploads f, from its current position to its end, to remote with STOR (APPE
// when appendTo is true), sending REST offset first when offset >= 0
// (ftp_store_from_fd). It returns the bytes sent.
func (c *Client) StoreFrom(remote string, f *os.File, offset int64, appendTo bool, progress Progress) (uint64, error) {
	if offset < 0 {
		offset = C.FTP_NO_REST
	}
	op := "STOR " + remote
	if appendTo {
		op = "APPE " + remote
	}
	return c.fdTransfer(op, remote, f, progress, func(h *C.ftp_client, p *C.char, fd C.int, ud C.uintptr_t, out *C.uint64_t) C.int {
		return C.ftpc_go_store_from_fd(h, p, fd, C.int64_t(offset), cbool(appendTo), ud, out)
	})
}

// ResumeDownload completes a download cut short: it appends to f the part of remote past
// f's size (REST), and returns the bytes received now (ftp_resume_download). Open f for
// writing (os.O_WRONLY|os.O_APPEND, or read-write). Progress counts f's earlier size in
// done; its total is the remote size (SIZE), or -1.
func (c *Client) ResumeDownload(remote string, f *os.File, progress Progress) (uint64, error) {
	return c.fdTransfer("resume RETR "+remote, remote, f, progress, func(h *C.ftp_client, p *C.char, fd C.int, ud C.uintptr_t, out *C.uint64_t) C.int {
		return C.ftpc_go_resume_download(h, p, fd, ud, out)
	})
}

// ResumeUpload completes an upload cut short: it asks the remote size (SIZE) and sends the
// rest of f from there, with REST+STOR when the server offers REST STREAM, else with APPE
// (ftp_resume_upload). It returns the bytes sent now.
func (c *Client) ResumeUpload(remote string, f *os.File, progress Progress) (uint64, error) {
	return c.fdTransfer("resume STOR "+remote, remote, f, progress, func(h *C.ftp_client, p *C.char, fd C.int, ud C.uintptr_t, out *C.uint64_t) C.int {
		return C.ftpc_go_resume_upload(h, p, fd, ud, out)
	})
}

// LastTransferBytes is the number of bytes the last transfer or listing on this client
// moved on its data connection (a resumed offset not counted), also when it failed, was
// stopped or was cut short (ftp_last_transfer_bytes).
func (c *Client) LastTransferBytes() uint64 {
	var n uint64
	_ = c.call("last transfer bytes", func(h *C.ftp_client) C.int {
		n = uint64(C.ftp_last_transfer_bytes(h))
		return C.FTP_OK
	})
	return n
}
