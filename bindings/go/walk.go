package ftpc

/*
#include <ftpc.h>
#include <stdint.h>
#include <stdlib.h>

// The Go side is ftpcGoWalk (callbacks.go); userdata is a cgo.Handle as a uintptr_t.
extern int ftpcGoWalk(uintptr_t h, char *path, size_t n, ftp_entry *e, int depth);

static int ftpc_walk_cb(void *ud, const char *path, size_t n, const ftp_entry *e, int depth) {
	return ftpcGoWalk((uintptr_t)ud, (char *)path, n, (ftp_entry *)e, depth);
}
static int ftpc_go_walk(ftp_client *c, const char *path, int flags, int max_depth, uintptr_t h, size_t *refused) {
	return ftp_walk(c, path, flags, max_depth, ftpc_walk_cb, (void *)h, refused);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// walkStop is a walk callback's answer that ends the walk (neither FTP_WALK_CONTINUE nor
// FTP_WALK_SKIP).
const walkStop = 2

// WalkFunc receives one entry of a Walk: its path (the walk's root joined with the names
// on the way by '/', the bytes as the server sent them, the caller's to keep), the entry
// and its depth (1 for the root's entries). It runs on the goroutine that called Walk,
// while the walk holds the client: it must not call the same Client. Returning
// fs.SkipDir keeps the walk out of this directory (for anything else it is nil: unlike
// filepath.WalkDir, the rest of the parent is still walked); SkipAll ends the walk, which returns
// nil; any other error ends the walk and is what Walk returns.
type WalkFunc func(path []byte, e Entry, depth int) error

// SkipAll, returned by a WalkFunc, ends the walk without an error (as fs.SkipAll, which
// Go 1.19, this module's minimum, does not have).
var SkipAll = errors.New("ftpc: skip all remaining entries")

// WalkOption configures one Walk.
type WalkOption func(*walkConfig)

type walkConfig struct {
	flags    C.int
	maxDepth int
	refused  *int
}

// WalkBreadthFirst hands out all entries of one depth before any of the next (the
// default is depth-first: a directory's entries right after it).
func WalkBreadthFirst() WalkOption {
	return func(w *walkConfig) { w.flags |= C.FTP_WALK_BREADTH_FIRST }
}

// WalkMaxDepth sets the deepest level handed out (1: the root's entries only; 0, the
// default: no limit).
func WalkMaxDepth(n int) WalkOption {
	return func(w *walkConfig) { w.maxDepth = n }
}

// WalkFollowLinks enters symbolic links to directories (only where the server lists with
// MLSD, whose unique fact tells a loop).
func WalkFollowLinks() WalkOption {
	return func(w *walkConfig) { w.flags |= C.FTP_WALK_FOLLOW_LINKS }
}

// WalkUseList lists with LIST even when the server offers MLSD.
func WalkUseList() WalkOption {
	return func(w *walkConfig) { w.flags |= C.FTP_WALK_USE_LIST }
}

// WalkUseMLSD lists with MLSD without asking FEAT (ErrUnsupported where it is missing).
func WalkUseMLSD() WalkOption {
	return func(w *walkConfig) { w.flags |= C.FTP_WALK_USE_MLSD }
}

// WalkRefused stores in *n, when the walk ends, how many names it left out (names that
// cannot be one path component, LIST lines no parser understands).
func WalkRefused(n *int) WalkOption {
	return func(w *walkConfig) { w.refused = n }
}

// Walk lists the tree below path ("" for the current directory) with ftp_walk and calls
// fn with each entry, depth-first unless WalkBreadthFirst. Directories are listed with
// MLSD when the server offers it, else with CWD and LIST (the starting directory is
// restored). "." and ".." are skipped; links are not entered unless WalkFollowLinks. A
// directory below the root that the server refuses to list is left out; failing to list
// the root is the error. Abort stops a walk as it stops a transfer.
func (c *Client) Walk(path string, fn WalkFunc, opts ...WalkOption) error {
	var cfg walkConfig
	for _, o := range opts {
		o(&cfg)
	}
	op := "walk " + path
	if fn == nil {
		return &Error{Op: op, Code: ErrNullArgument, Message: "nil WalkFunc"}
	}
	if cfg.maxDepth < 0 {
		return &Error{Op: op, Code: ErrInvalidArgument, Message: "negative WalkMaxDepth"}
	}
	var p *C.char
	if path != "" {
		var err error
		if p, err = cstr(path); err != nil {
			err.(*Error).Op = op
			return err
		}
		defer C.free(unsafe.Pointer(p))
	}
	s := &callState{walk: fn}
	refused := (*C.size_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.size_t(0))))) // C memory, not Go's
	defer C.free(unsafe.Pointer(refused))
	err := c.withTransfer(op, s, func(h *C.ftp_client, ud C.uintptr_t) C.int {
		return C.ftpc_go_walk(h, p, cfg.flags, C.int(cfg.maxDepth), ud, refused)
	})
	if cfg.refused != nil {
		*cfg.refused = int(*refused)
	}
	if err == SkipAll {
		return nil
	}
	return err
}
