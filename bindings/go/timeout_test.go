package ftpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallServer listens on 127.0.0.1 and falls silent on its first connection: with greet
// false it accepts and never sends a byte; with greet true it answers the login, TYPE and
// EPSV/PASV (a second listener), accepts the data connection, answers RETR with 150 and
// then sends nothing on either connection. It returns the port and a channel closed once
// the 150 went out; everything is closed when the test ends.
func stallServer(t *testing.T, greet bool) (int, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stalled := make(chan struct{})
	var mu sync.Mutex
	var conns []net.Conn
	keep := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		keep(c)
		if !greet {
			_, _ = bufio.NewReader(c).ReadString(0) // never answers; ends when the client closes
			return
		}
		dport := dl.Addr().(*net.TCPAddr).Port
		say := func(s string) { _, _ = c.Write([]byte(s)) }
		say("220 hi\r\n")
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch verb := strings.ToUpper(strings.TrimSpace(line) + "    ")[:4]; verb {
			case "USER":
				say("331 password please\r\n")
			case "PASS":
				say("230 in\r\n")
			case "TYPE":
				say("200 ok\r\n")
			case "EPSV":
				say(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", dport))
			case "PASV":
				say(fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d)\r\n", dport>>8, dport&255))
			case "RETR":
				d, err := dl.Accept()
				if err != nil {
					return
				}
				keep(d)
				say("150 here it comes (not)\r\n")
				close(stalled)
			default:
				say("502 not here\r\n")
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		dl.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-done
	})
	return l.Addr().(*net.TCPAddr).Port, stalled
}

func assertTimeoutWithin(t *testing.T, what string, err error, took time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("%s: %v, want ErrTimeout", what, err)
	}
	// The timeout plus at most 1 s of cleanup (issue 12).
	if took < time.Second || took > 2*time.Second {
		t.Fatalf("%s: ErrTimeout after %v, want 1 s..2 s", what, took)
	}
	t.Logf("%s: ErrTimeout after %v", what, took)
}

// WithTimeout bounds the wait for a greeting that never comes.
func TestWithTimeoutSilentGreeting(t *testing.T) {
	port, _ := stallServer(t, false)
	c, err := New(WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Connect("127.0.0.1", port)
	assertTimeoutWithin(t, "Connect", err, time.Since(start))
}

// WithTimeout alone bounds a download whose data connection stays silent after 150.
func TestWithTimeoutSilentDownload(t *testing.T) {
	port, stalled := stallServer(t, true)
	c, err := New(WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	if err := c.Login("u", "p"); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	start := time.Now()
	err = c.Retr("f", &got)
	assertTimeoutWithin(t, "Retr", err, time.Since(start))
	select {
	case <-stalled:
	default:
		t.Fatal("the server never sent its 150")
	}
	if got.Len() != 0 {
		t.Fatalf("%d bytes from a silent server", got.Len())
	}
}
