package ftpc

/*
#include <ftpc.h>
#include <stdlib.h>
*/
import "C"

import (
	"strconv"
	"time"
	"unsafe"
)

// EntryType is the type of a directory entry (FTP_ENTRY_* in ftpc.h).
type EntryType int

const (
	EntryUnknown EntryType = C.FTP_ENTRY_UNKNOWN
	EntryFile    EntryType = C.FTP_ENTRY_FILE
	EntryDir     EntryType = C.FTP_ENTRY_DIR
	EntryLink    EntryType = C.FTP_ENTRY_LINK
	EntryCdir    EntryType = C.FTP_ENTRY_CDIR // MLSD: the listed directory itself
	EntryPdir    EntryType = C.FTP_ENTRY_PDIR // MLSD: its parent
	EntryOther   EntryType = C.FTP_ENTRY_OTHER
)

// String gives the type's name: "unknown", "file", "dir", "link", "cdir", "pdir", "other",
// or "EntryType(N)" for a value this package does not know.
func (t EntryType) String() string {
	switch t {
	case EntryUnknown:
		return "unknown"
	case EntryFile:
		return "file"
	case EntryDir:
		return "dir"
	case EntryLink:
		return "link"
	case EntryCdir:
		return "cdir"
	case EntryPdir:
		return "pdir"
	case EntryOther:
		return "other"
	}
	return "EntryType(" + strconv.Itoa(int(t)) + ")"
}

// Entry is one directory entry from List or MLSD, copied out of the library's listing.
type Entry struct {
	Name       string
	Type       EntryType
	Size       int64     // -1 when unknown
	ModTime    time.Time // zero when unknown; UTC
	Perm       string    // "-rw-r--r--", or the MLSD unix.mode/perm fact; "" when unknown
	Mode       int32     // permission bits, -1 when unknown
	LinkTarget string
	Raw        string            // the listing line as received
	Facts      map[string]string // MLSD facts, names lower-cased; nil for LIST entries
}

func optString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// entries copies a listing into Go values and frees it.
func entries(l *C.ftp_listing) []Entry {
	defer C.ftp_listing_free(l)
	n := int(C.ftp_listing_count(l))
	out := make([]Entry, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, entry(C.ftp_listing_get(l, C.size_t(i))))
	}
	return out
}

// entry copies one entry of a listing (or of a walk) into a Go value.
func entry(e *C.ftp_entry) Entry {
	var nameLen, rawLen C.size_t
	name := C.ftp_entry_name(e, &nameLen)
	raw := C.ftp_entry_raw(e, &rawLen)
	en := Entry{
		Name:       C.GoStringN(name, C.int(nameLen)),
		Type:       EntryType(C.ftp_entry_type(e)),
		Size:       int64(C.ftp_entry_size(e)),
		Perm:       optString(C.ftp_entry_permissions(e, nil)),
		Mode:       int32(C.ftp_entry_mode(e)),
		LinkTarget: optString(C.ftp_entry_link_target(e, nil)),
		Raw:        C.GoStringN(raw, C.int(rawLen)),
	}
	var mtime C.int64_t
	if C.ftp_entry_mtime(e, &mtime) == 1 {
		en.ModTime = time.Unix(int64(mtime), 0).UTC()
	}
	if C.ftp_entry_format(e) == C.FTP_FORMAT_MLSD {
		en.Facts = map[string]string{}
		for j := C.size_t(0); j < C.ftp_entry_fact_count(e); j++ {
			var k, v *C.char
			if C.ftp_entry_fact_at(e, j, &k, &v) == 1 {
				en.Facts[C.GoString(k)] = C.GoString(v)
			}
		}
	}
	return en
}

func (c *Client) listing(op, path string, f func(*C.ftp_client, *C.char, **C.ftp_listing) C.int) ([]Entry, error) {
	var l *C.ftp_listing
	var p *C.char
	if path != "" {
		var err error
		if p, err = cstr(path); err != nil {
			err.(*Error).Op = op
			return nil, err
		}
		defer C.free(unsafe.Pointer(p))
	}
	if err := c.call(op, func(h *C.ftp_client) C.int { return f(h, p, &l) }); err != nil {
		return nil, err
	}
	return entries(l), nil
}

// List runs LIST on path ("" for the current directory) and parses the lines (Unix
// "ls -l" and DOS formats; a line no parser understands keeps only Raw and Name).
func (c *Client) List(path string) ([]Entry, error) {
	return c.listing("LIST", path, func(h *C.ftp_client, p *C.char, out **C.ftp_listing) C.int {
		return C.ftp_list(h, p, out)
	})
}

// MLSD lists path ("" for the current directory) with MLSD, asking for the type, size,
// modify, perm and unix.mode facts. Servers without MLSD (vsftpd) give ErrUnsupported.
func (c *Client) MLSD(path string) ([]Entry, error) {
	facts := C.CString("type;size;modify;perm;unix.mode;unique")
	defer C.free(unsafe.Pointer(facts))
	return c.listing("MLSD", path, func(h *C.ftp_client, p *C.char, out **C.ftp_listing) C.int {
		return C.ftp_mlsd(h, p, facts, out)
	})
}
