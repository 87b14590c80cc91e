// Package ftpc is a Go binding of ftpc, an FTP/FTPS client library with a C ABI
// (ftpc.h, found through pkg-config). It uses only the standard library and cgo.
//
//	c, err := ftpc.New()
//	if err != nil { ... }
//	defer c.Close()
//	if err := c.Connect("ftp.example.com", 21); err != nil { ... }
//	if err := c.Login("user", "secret"); err != nil { ... }
//	var buf bytes.Buffer
//	err = c.Retr("hello.txt", &buf)
//	_ = c.Quit()
//
// A Client may be used from several goroutines: calls are serialized by a mutex, except
// Abort, which is meant to be called while another goroutine's transfer runs. Different
// Clients are independent and can transfer in parallel.
//
// Errors from the library are *Error values; errors.Is(err, ftpc.ErrPerm) and the other
// Code constants test their class. An error returned by the io.Writer given to Retr (or
// the io.Reader given to Stor) stops the transfer (ABOR) and is returned as is.
package ftpc

/*
#cgo pkg-config: ftpc
#include <ftpc.h>
#include <stdint.h>
#include <stdlib.h>

// The Go side of the callbacks (callbacks.go): userdata travels as a uintptr_t holding a
// runtime/cgo.Handle, never as a Go pointer.
extern int ftpcGoWrite(uintptr_t h, uint8_t *data, size_t n);
extern int ftpcGoRead(uintptr_t h, uint8_t *buf, size_t n, size_t *out);
extern int ftpcGoLine(uintptr_t h, char *line, size_t n);
extern void ftpcGoTrace(uintptr_t h, char *line);

static int ftpc_write_cb(void *ud, const uint8_t *data, size_t n) { return ftpcGoWrite((uintptr_t)ud, (uint8_t *)data, n); }
static int ftpc_read_cb(void *ud, uint8_t *buf, size_t n, size_t *out) { return ftpcGoRead((uintptr_t)ud, buf, n, out); }
static int ftpc_line_cb(void *ud, const char *line, size_t n) { return ftpcGoLine((uintptr_t)ud, (char *)line, n); }
static void ftpc_trace_cb(void *ud, const char *line) { ftpcGoTrace((uintptr_t)ud, (char *)line); }

static int ftpc_go_retrbinary(ftp_client *c, const char *cmd, uintptr_t h, size_t blocksize, int64_t rest) {
	return ftp_retrbinary(c, cmd, ftpc_write_cb, (void *)h, blocksize, rest);
}
static int ftpc_go_storbinary(ftp_client *c, const char *cmd, uintptr_t h, size_t blocksize, int64_t rest) {
	return ftp_storbinary(c, cmd, ftpc_read_cb, (void *)h, blocksize, NULL, rest);
}
static int ftpc_go_retrlines(ftp_client *c, const char *cmd, uintptr_t h) {
	return ftp_retrlines(c, cmd, ftpc_line_cb, (void *)h);
}
static int ftpc_go_set_trace(ftp_client *c, uintptr_t h) {
	return ftp_set_trace_callback(c, h ? ftpc_trace_cb : NULL, (void *)h);
}
*/
import "C"

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version is the version of the ftpc library loaded at run time.
func Version() string { return C.GoString(C.ftp_version()) }

// Client is one FTP or FTPS session. Create it with New or NewTLS; Close frees it (a
// finalizer frees a Client that was not closed).
type Client struct {
	mu    sync.Mutex   // one call at a time on the handle
	hmu   sync.RWMutex // guards c against free while Cancel, which takes no call mutex, uses it
	c     *C.ftp_client
	trace cgo.Handle  // 0 when no trace writer is set
	stop  atomic.Bool // set by Abort: the running transfer's next callback stops it
}

// Option configures a Client in New or NewTLS.
type Option func(*Client) error

func setter(rc C.int, op string, c *Client) error {
	if rc != C.FTP_OK {
		return c.fail(rc, op)
	}
	return nil
}

// WithCAFile trusts the CA certificates in a PEM file, instead of the system store (FTPS).
func WithCAFile(path string) Option {
	return func(c *Client) error {
		p := C.CString(path)
		defer C.free(unsafe.Pointer(p))
		return setter(C.ftp_set_tls_ca_file(c.c, p), "set CA file", c)
	}
}

// WithImplicitTLS uses implicit FTPS (TLS from the first byte, usually port 990).
func WithImplicitTLS() Option {
	return func(c *Client) error {
		return setter(C.ftp_set_tls_mode(c.c, C.FTP_TLS_IMPLICIT), "set TLS mode", c)
	}
}

// WithTLSVerify turns certificate and host name verification off (false) or on (true, the
// default).
func WithTLSVerify(verify bool) Option {
	return func(c *Client) error {
		return setter(C.ftp_set_tls_verify(c.c, cbool(verify)), "set TLS verify", c)
	}
}

// WithTimeout sets the client's one timeout (ftp_set_timeout_ms, Python ftplib's
// timeout), which bounds every wait of every call: connecting, each reply, making or
// accepting a data connection, TLS handshakes, and any period in which a data connection
// moves nothing. A call facing a silent server returns ErrTimeout within d plus a short
// cleanup. It must be positive (whole milliseconds); without it the library's default,
// 60 s, applies. A context (ConnectContext, RetrContext, StorContext) can end a call
// sooner.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		ms := C.int64_t(d.Milliseconds())
		if ms <= 0 {
			return &Error{Op: "set timeout", Code: ErrInvalidArgument, Message: "the timeout must be at least 1 ms"}
		}
		return setter(C.ftp_set_timeout_ms(c.c, ms), "set timeout", c)
	}
}

// WithPassive chooses passive (true, the default) or active (false) data connections.
func WithPassive(passive bool) Option {
	return func(c *Client) error {
		return setter(C.ftp_set_pasv(c.c, cbool(passive)), "set passive", c)
	}
}

// WithTrace sends the library's debug trace (level 1: commands and replies with passwords
// masked; 2: also data connection events) to w, one line per Write.
func WithTrace(level int, w io.Writer) Option {
	return func(c *Client) error {
		h := cgo.NewHandle(&traceState{w: w})
		if err := setter(C.ftpc_go_set_trace(c.c, C.uintptr_t(h)), "set trace", c); err != nil {
			h.Delete()
			return err
		}
		c.trace = h
		return setter(C.ftp_set_debuglevel(c.c, C.int(level)), "set debug level", c)
	}
}

// New returns a plain FTP client, not connected.
func New(opts ...Option) (*Client, error) {
	return newClient(C.ftp_new(), opts)
}

// NewTLS returns an explicit FTPS client (ftplib's FTP_TLS): Login runs AUTH TLS first,
// verifies the server's certificate and host name, then protects data connections
// (PBSZ 0, PROT P).
func NewTLS(opts ...Option) (*Client, error) {
	return newClient(C.ftp_tls_new(), opts)
}

func newClient(h *C.ftp_client, opts []Option) (*Client, error) {
	if h == nil {
		return nil, &Error{Op: "new", Code: ErrIO, Message: "out of memory"}
	}
	c := &Client{c: h}
	runtime.SetFinalizer(c, (*Client).free)
	for _, opt := range opts {
		if err := opt(c); err != nil {
			c.free()
			return nil, err
		}
	}
	return c, nil
}

// free releases the handle; Close and the finalizer call it.
func (c *Client) free() {
	c.hmu.Lock()
	if c.c != nil {
		C.ftp_free(c.c)
		c.c = nil
	}
	c.hmu.Unlock()
	if c.trace != 0 {
		c.trace.Delete()
		c.trace = 0
	}
	runtime.SetFinalizer(c, nil)
}

// Close closes the connection without sending QUIT (use Quit for a polite end) and frees
// the handle. It waits for a call in progress on another goroutine. Closing twice is fine.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.free()
	return nil
}

// call runs f on the handle under the call mutex and turns a failure into an *Error,
// read while the mutex is still held so that no other call can overwrite it.
func (c *Client) call(op string, f func(h *C.ftp_client) C.int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return &Error{Op: op, Code: ErrWrongState, Message: "the client is closed"}
	}
	rc := f(c.c)
	runtime.KeepAlive(c)
	if rc != C.FTP_OK {
		return c.fail(rc, op)
	}
	return nil
}

// fail builds the *Error of a failed call; the caller holds c.mu (or is in New).
func (c *Client) fail(rc C.int, op string) error {
	e := &Error{Op: op, Code: Code(rc)}
	if msg := C.ftp_last_error(c.c); msg != nil {
		e.Message = C.GoString(msg)
	}
	// The handle's last reply is the reply to the last command sent (none when that command
	// got no reply); a call refused before sending anything leaves an older one in place,
	// so it belongs to this error only for the codes that come from a reply.
	if e.Code.fromReply() {
		e.ReplyCode = int(C.ftp_last_reply_code(c.c))
		if t := C.ftp_last_reply_text(c.c); t != nil {
			e.ReplyText = C.GoString(t)
		}
	}
	return e
}

// withTransfer runs f with a cgo.Handle of s as its userdata and turns a stop caused by
// the Go side (a Writer/Reader error, a panic) into that error or panic.
func (c *Client) withTransfer(op string, s *callState, f func(h *C.ftp_client, ud C.uintptr_t) C.int) error {
	s.stop = &c.stop
	hd := cgo.NewHandle(s)
	defer hd.Delete()
	err := c.call(op, func(h *C.ftp_client) C.int {
		c.stop.Store(false)
		return f(h, C.uintptr_t(hd))
	})
	if s.hasPan {
		panic(s.panic)
	}
	if err != nil && s.err != nil {
		if e, ok := err.(*Error); ok && e.Code == ErrStopped {
			return s.err
		}
	}
	return err
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// cstr converts s for C; the caller frees the result. A NUL in s would cut it short
// silently, so it is refused.
func cstr(s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: ErrInvalidArgument, Message: "NUL in a string argument"}
	}
	return C.CString(s), nil
}

// withStrings converts the strings for C, runs f, then frees them.
func withStrings(op string, ss []string, f func(ps []*C.char) error) error {
	ps := make([]*C.char, len(ss))
	defer func() {
		for _, p := range ps {
			C.free(unsafe.Pointer(p))
		}
	}()
	for i, s := range ss {
		p, err := cstr(s)
		if err != nil {
			err.(*Error).Op = op
			return err
		}
		ps[i] = p
	}
	return f(ps)
}

// Connect connects to host (a name or an IP address) on port (0 means 21) and reads the
// greeting. For implicit FTPS (WithImplicitTLS), port 0 means 990.
func (c *Client) Connect(host string, port int) error {
	if port < 0 || port > 65535 {
		return &Error{Op: "connect", Code: ErrInvalidArgument, Message: "port out of range"}
	}
	return withStrings("connect", []string{host}, func(p []*C.char) error {
		return c.call("connect", func(h *C.ftp_client) C.int {
			return C.ftp_connect(h, p[0], C.uint16_t(port), 0, nil)
		})
	})
}

// Welcome returns the server's greeting ("" before Connect).
func (c *Client) Welcome() string {
	var s string
	_ = c.call("welcome", func(h *C.ftp_client) C.int {
		if w := C.ftp_getwelcome(h); w != nil {
			s = C.GoString(w)
		}
		return C.FTP_OK
	})
	return s
}

// Login logs in (ftplib's rules: an empty user is "anonymous"). On a TLS client it runs
// AUTH TLS first and PROT P after.
func (c *Client) Login(user, password string) error {
	return withStrings("login", []string{user, password}, func(p []*C.char) error {
		return c.call("login", func(h *C.ftp_client) C.int { return C.ftp_login(h, p[0], p[1], nil) })
	})
}

// SendCmd sends a raw command and returns the reply text (1xx-3xx are success).
func (c *Client) SendCmd(cmd string) (string, error) {
	var out string
	err := withStrings(cmd, []string{cmd}, func(p []*C.char) error {
		return c.call(cmd, func(h *C.ftp_client) C.int {
			var reply *C.char
			rc := C.ftp_sendcmd(h, p[0], &reply)
			if rc == C.FTP_OK {
				out = C.GoString(reply)
			}
			return rc
		})
	})
	return out, err
}

// Retr downloads path in binary mode (TYPE I) into w, block by block. If w returns an
// error the transfer is stopped (ABOR, the connection stays usable) and that error is
// returned.
func (c *Client) Retr(path string, w io.Writer) error {
	return c.RetrFrom(path, w, -1)
}

// RetrFrom is Retr from byte offset (REST offset); a negative offset sends no REST.
func (c *Client) RetrFrom(path string, w io.Writer, offset int64) error {
	if offset < 0 {
		offset = C.FTP_NO_REST
	}
	op := "RETR " + path
	s := &callState{w: w}
	return withStrings(op, []string{op}, func(p []*C.char) error {
		return c.withTransfer(op, s, func(h *C.ftp_client, ud C.uintptr_t) C.int {
			return C.ftpc_go_retrbinary(h, p[0], ud, 0, C.int64_t(offset))
		})
	})
}

// Stor uploads everything r gives, until io.EOF, to path in binary mode (TYPE I). A read
// error other than io.EOF stops the upload (ABOR) and is returned.
func (c *Client) Stor(path string, r io.Reader) error {
	return c.storCmd("STOR "+path, r)
}

// Append is Stor with APPE: r's bytes are added to the end of path.
func (c *Client) Append(path string, r io.Reader) error {
	return c.storCmd("APPE "+path, r)
}

func (c *Client) storCmd(op string, r io.Reader) error {
	s := &callState{r: r}
	return withStrings(op, []string{op}, func(p []*C.char) error {
		return c.withTransfer(op, s, func(h *C.ftp_client, ud C.uintptr_t) C.int {
			return C.ftpc_go_storbinary(h, p[0], ud, 0, C.FTP_NO_REST)
		})
	})
}

// RetrLines runs a text command ("LIST", "NLST", "RETR name") in ASCII mode and calls f
// with each line, without its line end. An error from f stops the transfer and is returned.
func (c *Client) RetrLines(cmd string, f func(line string) error) error {
	s := &callState{lines: f}
	return withStrings(cmd, []string{cmd}, func(p []*C.char) error {
		return c.withTransfer(cmd, s, func(h *C.ftp_client, ud C.uintptr_t) C.int {
			return C.ftpc_go_retrlines(h, p[0], ud)
		})
	})
}

// NameList returns the names NLST gives for path ("" for the current directory).
func (c *Client) NameList(path string) ([]string, error) {
	var names []string
	cmd := "NLST"
	if path != "" {
		cmd += " " + path
	}
	err := c.RetrLines(cmd, func(line string) error {
		names = append(names, line)
		return nil
	})
	return names, err
}

// Pwd returns the current directory.
func (c *Client) Pwd() (string, error) {
	var dir string
	err := c.call("PWD", func(h *C.ftp_client) C.int {
		var out *C.char
		rc := C.ftp_pwd(h, &out)
		if rc == C.FTP_OK {
			dir = C.GoString(out)
		}
		return rc
	})
	return dir, err
}

// Mkd makes a directory and returns the path the server reports ("" when it gives none).
func (c *Client) Mkd(dir string) (string, error) {
	var made string
	err := withStrings("MKD "+dir, []string{dir}, func(p []*C.char) error {
		return c.call("MKD "+dir, func(h *C.ftp_client) C.int {
			var out *C.char
			rc := C.ftp_mkd(h, p[0], &out)
			if rc == C.FTP_OK {
				made = C.GoString(out)
			}
			return rc
		})
	})
	return made, err
}

// simple runs a one-string-argument command.
func (c *Client) simple(op, arg string, f func(*C.ftp_client, *C.char) C.int) error {
	return withStrings(op, []string{arg}, func(p []*C.char) error {
		return c.call(op, func(h *C.ftp_client) C.int { return f(h, p[0]) })
	})
}

// Cwd changes the current directory ("..": CDUP).
func (c *Client) Cwd(dir string) error {
	return c.simple("CWD "+dir, dir, func(h *C.ftp_client, p *C.char) C.int { return C.ftp_cwd(h, p) })
}

// Rmd removes a directory.
func (c *Client) Rmd(dir string) error {
	return c.simple("RMD "+dir, dir, func(h *C.ftp_client, p *C.char) C.int { return C.ftp_rmd(h, p) })
}

// Delete deletes a file.
func (c *Client) Delete(path string) error {
	return c.simple("DELE "+path, path, func(h *C.ftp_client, p *C.char) C.int { return C.ftp_delete(h, p) })
}

// Rename renames from to to (RNFR, RNTO).
func (c *Client) Rename(from, to string) error {
	return withStrings("rename", []string{from, to}, func(p []*C.char) error {
		return c.call("rename "+from, func(h *C.ftp_client) C.int { return C.ftp_rename(h, p[0], p[1]) })
	})
}

// Size returns the size of a file in bytes (binary mode: TYPE I is sent first), or -1
// when the server answers without a size.
func (c *Client) Size(path string) (int64, error) {
	size := int64(-1)
	err := withStrings("SIZE "+path, []string{"TYPE I", path}, func(p []*C.char) error {
		return c.call("SIZE "+path, func(h *C.ftp_client) C.int {
			if rc := C.ftp_voidcmd(h, p[0], nil); rc != C.FTP_OK {
				return rc
			}
			var out C.int64_t
			rc := C.ftp_size(h, p[1], &out)
			if rc == C.FTP_OK {
				size = int64(out)
			}
			return rc
		})
	})
	return size, err
}

// Abort stops a transfer that another goroutine is running on this client: that call
// returns an error with Code ErrStopped after the server's replies to ABOR are read, and
// the connection stays usable. With no call running, it is ftplib's abort: it sends ABOR
// and checks the reply. An Abort that comes while a call other than a transfer runs has
// no effect.
//
// The stop is requested through the transfer's own callbacks (checked after every block)
// rather than with ftp_abort from this goroutine: ftp_abort does a whole ABOR exchange
// when it finds no call running, which would race with the call about to start.
func (c *Client) Abort() error {
	if !c.mu.TryLock() {
		c.stop.Store(true)
		return nil
	}
	defer c.mu.Unlock()
	if c.c == nil {
		return &Error{Op: "ABOR", Code: ErrWrongState, Message: "the client is closed"}
	}
	rc := C.ftp_abort(c.c)
	runtime.KeepAlive(c)
	if rc != C.FTP_OK {
		return c.fail(rc, "ABOR")
	}
	return nil
}

// RetrContext is Retr that stops (ABOR, the connection stays usable) when ctx is done; the
// error then wraps ctx.Err(), so errors.Is(err, context.Canceled) holds.
func (c *Client) RetrContext(ctx context.Context, path string, w io.Writer) error {
	return c.withContext(ctx, func() error { return c.Retr(path, w) })
}

// StorContext is Stor that stops (ABOR) when ctx is done, as RetrContext.
func (c *Client) StorContext(ctx context.Context, path string, r io.Reader) error {
	return c.withContext(ctx, func() error { return c.Stor(path, r) })
}

// Cancel stops the call running on this client from another goroutine, without waiting:
// a transfer at its next block (ABOR; the connection stays usable), a connect or a wait
// for a reply within 50 ms (the call returns an error with Code ErrStopped; a reply wait
// cut short closes the connection). With no call running it does nothing.
func (c *Client) Cancel() {
	// The flag covers a transfer whose C call has not started yet.
	c.stop.Store(true)
	c.hmu.RLock()
	if c.c != nil {
		C.ftp_cancel(c.c)
	}
	c.hmu.RUnlock()
}

// ConnectContext is Connect that gives up when ctx is done, as RetrContext.
func (c *Client) ConnectContext(ctx context.Context, host string, port int) error {
	return c.withContext(ctx, func() error { return c.Connect(host, port) })
}

func (c *Client) withContext(ctx context.Context, call func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			c.Cancel()
		case <-finished:
		}
	}()
	err := call()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%v: %w", err, ctx.Err())
	}
	return err
}

// PeerAddr is the server's address on the control connection.
func (c *Client) PeerAddr() (*net.TCPAddr, error) {
	return c.address("peer address", func(h *C.ftp_client, host **C.char, port *C.uint16_t) C.int {
		return C.ftp_peer_address(h, host, port)
	})
}

// LocalAddr is this side's address on the control connection.
func (c *Client) LocalAddr() (*net.TCPAddr, error) {
	return c.address("local address", func(h *C.ftp_client, host **C.char, port *C.uint16_t) C.int {
		return C.ftp_local_address(h, host, port)
	})
}

func (c *Client) address(op string, f func(*C.ftp_client, **C.char, *C.uint16_t) C.int) (*net.TCPAddr, error) {
	var addr *net.TCPAddr
	err := c.call(op, func(h *C.ftp_client) C.int {
		var host *C.char
		var port C.uint16_t
		rc := f(h, &host, &port)
		if rc == C.FTP_OK {
			// The string is borrowed until the next call on the handle: copy it now.
			addr = &net.TCPAddr{IP: net.ParseIP(C.GoString(host)), Port: int(port)}
		}
		return rc
	})
	return addr, err
}

// IsTLS tells whether the control connection is encrypted.
func (c *Client) IsTLS() bool {
	var on bool
	_ = c.call("is TLS", func(h *C.ftp_client) C.int {
		on = C.ftp_is_tls(h) == 1
		return C.FTP_OK
	})
	return on
}

// Quit sends QUIT and closes the connection (also when the reply is an error). The client
// can Connect again; Close still has to free it.
func (c *Client) Quit() error {
	return c.call("QUIT", func(h *C.ftp_client) C.int { return C.ftp_quit(h) })
}
