package ftpc

// The Go functions C calls back. Each receives the cgo.Handle of a Go value as a
// uintptr_t (converted from the void *userdata by the shims in ftpc.go), never a Go
// pointer. A panic is recovered here, since unwinding through the library's frames would
// leave its handle marked busy: the callback stops the transfer and the panic is raised
// again once the C call has returned.

/*
#include <ftpc.h>
*/
import "C"

import (
	"io"
	"io/fs"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// callState is what a transfer's callbacks share with the call that started it.
type callState struct {
	w        io.Writer
	r        io.Reader
	lines    func(string) error
	walk     WalkFunc
	progress Progress
	err      error // the Writer's, Reader's or line function's error that stopped the transfer
	panic    any   // a recovered panic, re-raised after the C call
	hasPan   bool
	eof      bool  // the Reader reported io.EOF
	rerr     error // a Reader error held back until the bytes read with it are sent
	stop     *atomic.Bool
}

// stopped tells whether Abort asked the transfer to stop.
func (s *callState) stopped() bool {
	return s.stop != nil && s.stop.Load()
}

func (s *callState) recovered(p any) {
	s.panic, s.hasPan = p, true
}

//export ftpcGoWrite
func ftpcGoWrite(h C.uintptr_t, data *C.uint8_t, n C.size_t) (rc C.int) {
	s := cgo.Handle(h).Value().(*callState)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p)
			rc = 1
		}
	}()
	if n == 0 {
		return 0
	}
	// The block is C memory, lent for this call only; io.Writer must not keep it.
	b := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	m, err := s.w.Write(b)
	if err == nil && m != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
		return 1
	}
	if s.stopped() {
		return 1
	}
	return 0
}

//export ftpcGoRead
func ftpcGoRead(h C.uintptr_t, buf *C.uint8_t, n C.size_t, out *C.size_t) (rc C.int) {
	s := cgo.Handle(h).Value().(*callState)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p)
			rc = 1
		}
	}()
	*out = 0
	if s.stopped() {
		return 1
	}
	if s.rerr != nil {
		s.err = s.rerr
		return 1
	}
	if s.eof || n == 0 {
		return 0
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	// io.Reader may return 0, nil; retry a bounded number of times, as io.ReadAtLeast does not.
	for tries := 0; tries < 100; tries++ {
		m, err := s.r.Read(b)
		if m < 0 || m > len(b) {
			s.err = io.ErrUnexpectedEOF
			return 1
		}
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil && m == 0:
			s.err = err
			return 1
		case err != nil:
			s.rerr = err // send these m bytes, fail on the next call
		}
		if m > 0 || s.eof {
			*out = C.size_t(m)
			return 0
		}
	}
	s.err = io.ErrNoProgress
	return 1
}

//export ftpcGoLine
func ftpcGoLine(h C.uintptr_t, line *C.char, n C.size_t) (rc C.int) {
	s := cgo.Handle(h).Value().(*callState)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p)
			rc = 1
		}
	}()
	if err := s.lines(C.GoStringN(line, C.int(n))); err != nil {
		s.err = err
		return 1
	}
	if s.stopped() {
		return 1
	}
	return 0
}

//export ftpcGoProgress
func ftpcGoProgress(h C.uintptr_t, done C.uint64_t, total C.int64_t) (rc C.int) {
	s := cgo.Handle(h).Value().(*callState)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p)
			rc = 1
		}
	}()
	if s.progress != nil {
		if err := s.progress(uint64(done), int64(total)); err != nil {
			s.err = err
			return 1
		}
	}
	if s.stopped() {
		return 1
	}
	return 0
}

//export ftpcGoWalk
func ftpcGoWalk(h C.uintptr_t, path *C.char, n C.size_t, e *C.ftp_entry, depth C.int) (rc C.int) {
	s := cgo.Handle(h).Value().(*callState)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p)
			rc = walkStop
		}
	}()
	if s.stopped() {
		return walkStop
	}
	err := s.walk(C.GoBytes(unsafe.Pointer(path), C.int(n)), entry(e), int(depth))
	switch {
	case err == nil:
		return C.FTP_WALK_CONTINUE
	case err == fs.SkipDir:
		return C.FTP_WALK_SKIP
	default:
		s.err = err
		return walkStop
	}
}

// traceState is the destination of a client's debug trace.
type traceState struct {
	w io.Writer
}

//export ftpcGoTrace
func ftpcGoTrace(h C.uintptr_t, line *C.char) {
	t := cgo.Handle(h).Value().(*traceState)
	defer func() { _ = recover() }() // a trace writer's panic is dropped: tracing must not break a call
	_, _ = io.WriteString(t.w, C.GoString(line)+"\n")
}
