package ftpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The servers of tests/servers/servers.sh; source target/ftp-servers/env first.
type server struct {
	name    string
	port    int
	hasMLSD bool
}

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is not set: source target/ftp-servers/env (tests/servers/servers.sh start)", name)
	}
	return v
}

func envPort(t *testing.T, name string) int {
	t.Helper()
	p, err := strconv.Atoi(env(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func servers(t *testing.T) []server {
	return []server{
		{"vsftpd", envPort(t, "FTPC_VSFTPD_PORT"), false},
		{"pure-ftpd", envPort(t, "FTPC_PUREFTPD_PORT"), true},
		{"proftpd", envPort(t, "FTPC_PROFTPD_PORT"), true},
		{"bsd-ftpd", envPort(t, "FTPC_BSDFTPD_PORT"), false},
	}
}

func host(t *testing.T) string { return env(t, "FTPC_TEST_HOST") }

func dial(t *testing.T, port int, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithTimeout(20 * time.Second)}, opts...)
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Connect(host(t), port); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(env(t, "FTPC_TEST_USER"), env(t, "FTPC_TEST_PASS")); err != nil {
		t.Fatal(err)
	}
	return c
}

func pattern(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// scratch makes a fresh directory, enters it, and removes it (and the given files) at the end.
func scratch(t *testing.T, c *Client, name string) {
	t.Helper()
	dir := fmt.Sprintf("go-%s-%d-%d", name, os.Getpid(), time.Now().UnixNano())
	if _, err := c.Mkd(dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Cwd(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if names, err := c.NameList(""); err == nil {
			for _, n := range names {
				_ = c.Delete(n)
			}
		}
		_ = c.Cwd("..")
		_ = c.Rmd(dir)
	})
}

func TestVersion(t *testing.T) {
	if v := Version(); !strings.Contains(v, ".") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestSession(t *testing.T) {
	for _, s := range servers(t) {
		s := s
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.port)
			if w := c.Welcome(); !strings.HasPrefix(w, "220") {
				t.Fatalf("welcome %q", w)
			}
			start, err := c.Pwd()
			if err != nil || start == "" {
				t.Fatalf("Pwd: %q %v", start, err)
			}
			scratch(t, c, "session")
			cwd, err := c.Pwd()
			if err != nil || !strings.Contains(cwd, "go-session-") {
				t.Fatalf("Pwd after Cwd: %q %v", cwd, err)
			}

			data := pattern(1<<20+17, 1)
			if err := c.Stor("data.bin", bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Size("data.bin"); err != nil || n != int64(len(data)) {
				t.Fatalf("Size = %d, %v; want %d", n, err, len(data))
			}
			var got bytes.Buffer
			if err := c.Retr("data.bin", &got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("Retr: %d bytes, not the %d stored", got.Len(), len(data))
			}
			got.Reset()
			if err := c.RetrFrom("data.bin", &got, 1000); err != nil || !bytes.Equal(got.Bytes(), data[1000:]) {
				t.Fatalf("RetrFrom 1000: %d bytes, %v", got.Len(), err)
			}
			if err := c.Append("data.bin", strings.NewReader("tail")); err != nil {
				t.Fatal(err)
			}
			if n, _ := c.Size("data.bin"); n != int64(len(data))+4 {
				t.Fatalf("after Append: size %d", n)
			}
			// An empty upload.
			if err := c.Stor("empty", bytes.NewReader(nil)); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Size("empty"); err != nil || n != 0 {
				t.Fatalf("empty: %d %v", n, err)
			}

			names, err := c.NameList("")
			if err != nil || !contains(names, "data.bin") || !contains(names, "empty") {
				t.Fatalf("NameList: %v %v", names, err)
			}
			list, err := c.List("")
			if err != nil {
				t.Fatal(err)
			}
			e := find(list, "data.bin")
			if e == nil || e.Type != EntryFile || e.Size != int64(len(data))+4 || e.ModTime.IsZero() || e.Perm == "" || e.Raw == "" {
				t.Fatalf("List entry: %+v", e)
			}
			mlsd, err := c.MLSD("")
			if s.hasMLSD {
				if err != nil {
					t.Fatal(err)
				}
				e := find(mlsd, "data.bin")
				if e == nil || e.Facts["type"] != "file" || e.Size != int64(len(data))+4 || e.ModTime.IsZero() {
					t.Fatalf("MLSD entry: %+v", e)
				}
			} else if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("MLSD on %s: %v, want ErrUnsupported", s.name, err)
			}

			if err := c.Rename("data.bin", "moved.bin"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Size("data.bin"); !errors.Is(err, ErrPerm) {
				t.Fatalf("Size of a renamed file: %v", err)
			}
			if err := c.Delete("moved.bin"); err != nil {
				t.Fatal(err)
			}
			reply, err := c.SendCmd("NOOP")
			if err != nil || !strings.HasPrefix(reply, "200") {
				t.Fatalf("NOOP: %q %v", reply, err)
			}
			if err := c.Abort(); err != nil { // ftplib's abort with nothing to abort
				t.Fatalf("Abort with no transfer: %v", err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func find(list []Entry, name string) *Entry {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// Several goroutines, each with its own client, upload and download different data at the
// same time, on both servers; every byte must come back.
func TestParallelTransfers(t *testing.T) {
	ss := servers(t)
	const workers = 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := ss[i%len(ss)]
			errs <- func() error {
				c, err := New(WithTimeout(30*time.Second), WithPassive(i%3 != 2))
				if err != nil {
					return err
				}
				defer c.Close()
				if err := c.Connect(host(t), s.port); err != nil {
					return err
				}
				if err := c.Login(os.Getenv("FTPC_TEST_USER"), os.Getenv("FTPC_TEST_PASS")); err != nil {
					return err
				}
				name := fmt.Sprintf("go-par-%d-%d.bin", os.Getpid(), i)
				data := pattern(2<<20+i*4097, int64(100+i))
				if err := c.Stor(name, bytes.NewReader(data)); err != nil {
					return fmt.Errorf("%s worker %d: %w", s.name, i, err)
				}
				for round := 0; round < 2; round++ {
					var got bytes.Buffer
					if err := c.Retr(name, &got); err != nil {
						return fmt.Errorf("%s worker %d: %w", s.name, i, err)
					}
					if !bytes.Equal(got.Bytes(), data) {
						return fmt.Errorf("%s worker %d: got %d bytes, want %d identical", s.name, i, got.Len(), len(data))
					}
				}
				if err := c.Delete(name); err != nil {
					return err
				}
				return c.Quit()
			}()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// One client shared by goroutines: calls are serialized, none gets ErrBusy.
func TestSharedClient(t *testing.T) {
	c := dial(t, servers(t)[0].port)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			if err := c.Retr("hello.txt", &buf); err != nil || buf.String() != "hello from vsftpd\n" {
				t.Errorf("shared Retr: %q %v", buf.String(), err)
			}
		}()
	}
	wg.Wait()
}

func TestBadPassword(t *testing.T) {
	for _, s := range servers(t) {
		c, err := New()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Connect(host(t), s.port); err != nil {
			t.Fatal(err)
		}
		err = c.Login(env(t, "FTPC_TEST_USER"), "wrong password")
		if !errors.Is(err, ErrPerm) {
			t.Fatalf("%s: bad password gave %v, want ErrPerm", s.name, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != ErrPerm || e.ReplyCode != 530 ||
			!strings.HasPrefix(e.ReplyText, "530") || e.Message == "" || e.Op != "login" {
			t.Fatalf("%s: %#v", s.name, e)
		}
		if errors.Is(err, ErrTemp) {
			t.Fatalf("%s: a permanent error also matched ErrTemp", s.name)
		}
		if !strings.Contains(err.Error(), "530") {
			t.Fatalf("%s: Error() = %q", s.name, err.Error())
		}
	}
}

func TestErrors(t *testing.T) {
	c := dial(t, servers(t)[0].port)
	var sink bytes.Buffer
	err := c.Retr("no-such-file", &sink)
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrPerm || e.ReplyCode != 550 {
		t.Fatalf("RETR of a missing file: %#v", err)
	}
	// A CR in an argument is refused before anything is sent; no reply belongs to it.
	err = c.Cwd("a\r\nDELE hello.txt")
	if !errors.As(err, &e) || e.Code != ErrInvalidArgument || e.ReplyCode != 0 || e.ReplyText != "" {
		t.Fatalf("CRLF injection: %#v", err)
	}
	if err := c.Cwd("bad\x00name"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NUL in a name: %v", err)
	}
	if _, err := c.Pwd(); err != nil {
		t.Fatalf("the connection should still work: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pwd(); !errors.Is(err, ErrWrongState) {
		t.Fatalf("Pwd after Quit: %v", err)
	}
	c.Close()
	c.Close()
	if _, err := c.Pwd(); !errors.Is(err, ErrWrongState) {
		t.Fatalf("Pwd after Close: %v", err)
	}

	// Nothing listens on port 1.
	c2, _ := New()
	defer c2.Close()
	if err := c2.Connect(host(t), 1); !errors.Is(err, ErrIO) {
		t.Fatalf("connect to a closed port: %v", err)
	}
}

var errStop = errors.New("enough")

type stoppingWriter struct{ n, limit int }

func (w *stoppingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n >= w.limit {
		return 0, errStop
	}
	return len(p), nil
}

type failingReader struct{ n, limit int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n >= r.limit {
		return 0, errStop
	}
	for i := range p {
		p[i] = byte(i)
	}
	r.n += len(p)
	return len(p), nil
}

// io errors on the Go side stop the transfer, come back unchanged, and the connection stays usable.
func TestCallbackErrors(t *testing.T) {
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.port)
			scratch(t, c, "cb")
			data := pattern(3<<20, 7)
			if err := c.Stor("big.bin", bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			w := &stoppingWriter{limit: 100000}
			if err := c.Retr("big.bin", w); err != errStop {
				t.Fatalf("Retr with a failing writer: %v", err)
			}
			if _, err := c.Pwd(); err != nil {
				t.Fatal(err)
			}
			if err := c.Stor("partial.bin", &failingReader{limit: 200000}); err != errStop {
				t.Fatalf("Stor with a failing reader: %v", err)
			}
			if _, err := c.Pwd(); err != nil {
				t.Fatal(err)
			}
			lines := 0
			err := c.RetrLines("LIST", func(string) error { lines++; return errStop })
			if err != errStop || lines != 1 {
				t.Fatalf("RetrLines stopped: %v after %d lines", err, lines)
			}
			// A panic in a Writer goes through the C call and out of Retr; the handle is not left busy.
			func() {
				defer func() {
					if p := recover(); p != "writer panic" {
						t.Fatalf("recovered %v", p)
					}
				}()
				_ = c.Retr("big.bin", writerFunc(func(p []byte) (int, error) { panic("writer panic") }))
				t.Fatal("no panic")
			}()
			var got bytes.Buffer
			if err := c.Retr("big.bin", &got); err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("after a panic: %d bytes, %v", got.Len(), err)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Abort from another goroutine stops a slow download; the connection stays usable.
func TestAbort(t *testing.T) {
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.port)
			scratch(t, c, "abort")
			data := pattern(4<<20, 9)
			if err := c.Stor("big.bin", bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			var got int
			slow := writerFunc(func(p []byte) (int, error) {
				got += len(p)
				time.Sleep(5 * time.Millisecond)
				return len(p), nil
			})
			done := make(chan error)
			go func() { done <- c.Retr("big.bin", slow) }()
			time.Sleep(300 * time.Millisecond)
			if err := c.Abort(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrStopped) {
					t.Fatalf("aborted Retr: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Abort did not stop the transfer")
			}
			if got == 0 || got >= len(data) {
				t.Fatalf("received %d of %d bytes", got, len(data))
			}
			var buf bytes.Buffer
			if err := c.Retr("big.bin", &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("after Abort: %d bytes, %v", buf.Len(), err)
			}
		})
	}
}

// RetrContext stops when its context is done; the error says why.
func TestRetrContext(t *testing.T) {
	s := servers(t)[0]
	c := dial(t, s.port)
	scratch(t, c, "context")
	data := pattern(4<<20, 10)
	if err := c.Stor("big.bin", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// Slow enough that the deadline comes while data moves, whatever the block size
	// (at 5 ms a block, large blocks let the download end first: then the cancel cut the
	// final reply's wait instead).
	slow := writerFunc(func(p []byte) (int, error) {
		time.Sleep(50 * time.Millisecond)
		return len(p), nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.RetrContext(ctx, "big.bin", slow)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("RetrContext past its deadline: %v", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("stopped after %v", waited)
	}
	// A done context starts nothing; the connection is still in step.
	if err := c.RetrContext(ctx, "big.bin", io.Discard); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RetrContext with a done context: %v", err)
	}
	var buf bytes.Buffer
	if err := c.RetrContext(context.Background(), "big.bin", &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("after the deadline: %d bytes, %v", buf.Len(), err)
	}
}

// ConnectContext gives up on a server that never greets when its context ends, long
// before the 20 s timeout; the client can connect again afterwards.
func TestConnectContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // accepts nothing: the greeting never comes
	c, err := New(WithTimeout(20 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.ConnectContext(ctx, "127.0.0.1", l.Addr().(*net.TCPAddr).Port)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("ConnectContext: %v after %v", err, time.Since(start))
	}
	if err := c.Connect(host(t), servers(t)[0].port); err != nil {
		t.Fatalf("Connect after the cancelled one: %v", err)
	}
	c.Cancel() // nothing runs: no effect
	if err := c.Login(env(t, "FTPC_TEST_USER"), env(t, "FTPC_TEST_PASS")); err != nil {
		t.Fatalf("Login after an idle Cancel: %v", err)
	}
	_ = c.Quit()
}

// The control connection's two ends, as net.TCPAddr.
func TestAddresses(t *testing.T) {
	s := servers(t)[0]
	c := dial(t, s.port)
	peer, err := c.PeerAddr()
	if err != nil || peer.Port != s.port || !peer.IP.Equal(net.ParseIP(host(t))) {
		t.Fatalf("PeerAddr: %v, %v", peer, err)
	}
	local, err := c.LocalAddr()
	if err != nil || local.Port == 0 || !local.IP.IsLoopback() {
		t.Fatalf("LocalAddr: %v, %v", local, err)
	}
	_ = c.Quit()
	if _, err := c.PeerAddr(); !errors.Is(err, ErrWrongState) {
		t.Fatalf("PeerAddr after Quit: %v", err)
	}
}

func TestActiveMode(t *testing.T) {
	for _, s := range servers(t) {
		c := dial(t, s.port, WithPassive(false))
		data := pattern(300000, 3)
		name := fmt.Sprintf("go-active-%d.bin", os.Getpid())
		if err := c.Stor(name, bytes.NewReader(data)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var got bytes.Buffer
		if err := c.Retr(name, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("%s active: %d bytes, %v", s.name, got.Len(), err)
		}
		if err := c.Delete(name); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTLS(t *testing.T) {
	ca := env(t, "FTPC_TEST_CA")
	user, pass := env(t, "FTPC_TEST_USER"), env(t, "FTPC_TEST_PASS")
	for _, tc := range []struct {
		name string
		port int
		opts []Option
	}{
		{"vsftpd explicit", envPort(t, "FTPC_VSFTPD_TLS_PORT"), nil},
		{"vsftpd implicit", envPort(t, "FTPC_VSFTPD_IMPLICIT_PORT"), []Option{WithImplicitTLS()}},
		{"pure-ftpd explicit", envPort(t, "FTPC_PUREFTPD_PORT"), nil},
		{"proftpd explicit", envPort(t, "FTPC_PROFTPD_TLS_PORT"), nil},
		{"proftpd implicit", envPort(t, "FTPC_PROFTPD_IMPLICIT_PORT"), []Option{WithImplicitTLS()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewTLS(append([]Option{WithCAFile(ca), WithTimeout(20 * time.Second)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(host(t), tc.port); err != nil {
				t.Fatal(err)
			}
			if err := c.Login(user, pass); err != nil {
				t.Fatal(err)
			}
			if !c.IsTLS() {
				t.Fatal("not TLS after login")
			}
			data := pattern(1<<20+3, 11)
			name := fmt.Sprintf("go-tls-%d.bin", os.Getpid())
			if err := c.Stor(name, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := c.Retr(name, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("TLS round trip: %d bytes, %v", got.Len(), err)
			}
			if list, err := c.List(""); err != nil || find(list, name) == nil {
				t.Fatalf("List over TLS: %v", err)
			}
			if err := c.Delete(name); err != nil {
				t.Fatal(err)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Without the test CA the server's certificate is not trusted.
	c, err := NewTLS()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(host(t), envPort(t, "FTPC_VSFTPD_TLS_PORT")); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass); !errors.Is(err, ErrCertificate) {
		t.Fatalf("login without the CA: %v, want ErrCertificate", err)
	}
	// Plain login where the server insists on TLS: 530 from vsftpd's force_local_logins_ssl.
	p, _ := New()
	defer p.Close()
	if err := p.Connect(host(t), envPort(t, "FTPC_VSFTPD_TLS_PORT")); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := p.Login(user, pass); !errors.As(err, &e) || e.Code != ErrPerm || e.ReplyCode != 530 {
		t.Fatalf("plain login on the TLS-only server: %v", err)
	}
}

func TestTrace(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	c := dial(t, servers(t)[0].port, WithTrace(1, w))
	if _, err := c.Pwd(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
	mu.Lock()
	trace := buf.String()
	mu.Unlock()
	if !strings.Contains(trace, "*cmd*") || !strings.Contains(trace, "PWD") || !strings.Contains(trace, "*resp*") {
		t.Fatalf("trace: %q", trace)
	}
	if strings.Contains(trace, env(t, "FTPC_TEST_PASS")) {
		t.Fatalf("the password is in the trace: %q", trace)
	}
}

// Clients dropped without Close are freed by their finalizer.
func TestFinalizer(t *testing.T) {
	for i := 0; i < 50; i++ {
		c, err := New(WithTrace(1, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		_ = c
	}
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	c := dial(t, servers(t)[1].port)
	runtime.GC()
	if _, err := c.Pwd(); err != nil { // still referenced: not finalized
		t.Fatal(err)
	}
}
