package ftpc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{ErrPerm.String(), "ErrPerm"},
		{ErrNetrc.String(), "ErrNetrc"},
		{Code(0).String(), "OK"},
		{Code(-99).String(), "Code(-99)"},
		{EntryFile.String(), "file"},
		{EntryDir.String(), "dir"},
		{EntryPdir.String(), "pdir"},
		{EntryType(42).String(), "EntryType(42)"},
		{fmt.Sprint(EntryLink), "link"},
		{fmt.Sprintf("%v", []EntryType{EntryCdir, EntryOther}), "[cdir other]"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// progressLog records the calls of a Progress and checks that done never goes back.
type progressLog struct {
	calls      int
	done       uint64
	total      int64
	wentBack   bool
	stopAfter  uint64 // stop once done reaches it (0: never)
	stopReturn error
}

func (p *progressLog) fn(done uint64, total int64) error {
	p.calls++
	if done < p.done {
		p.wentBack = true
	}
	p.done, p.total = done, total
	if p.stopAfter > 0 && done >= p.stopAfter {
		return p.stopReturn
	}
	return nil
}

func TestFileTransfers(t *testing.T) {
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.port)
			scratch(t, c, "files")
			dir := t.TempDir()
			data := pattern(3<<20+517, 7)
			local := filepath.Join(dir, "up.bin")
			if err := os.WriteFile(local, data, 0o644); err != nil {
				t.Fatal(err)
			}

			// StoreFile, RetrieveFile, with progress.
			var up progressLog
			if err := c.StoreFile(local, "f.bin", up.fn); err != nil {
				t.Fatal(err)
			}
			if up.calls == 0 || up.wentBack || up.done != uint64(len(data)) || up.total != int64(len(data)) {
				t.Errorf("upload progress: %+v, want done = total = %d", up, len(data))
			}
			if n := c.LastTransferBytes(); n != uint64(len(data)) {
				t.Errorf("LastTransferBytes after StoreFile = %d, want %d", n, len(data))
			}
			var down progressLog
			got := filepath.Join(dir, "down.bin")
			if err := c.RetrieveFile("f.bin", got, down.fn); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
				t.Fatalf("RetrieveFile: %d bytes, want %d identical", len(b), len(data))
			}
			if down.calls == 0 || down.wentBack || down.done != uint64(len(data)) || down.total != int64(len(data)) {
				t.Errorf("download progress: %+v, want done = total = %d", down, len(data))
			}

			// A refused download leaves an existing local file as it was.
			if err := c.RetrieveFile("missing.bin", got, nil); !errors.Is(err, ErrPerm) {
				t.Errorf("RetrieveFile of a missing file: %v, want ErrPerm", err)
			}
			if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
				t.Errorf("a refused RetrieveFile changed the local file")
			}

			// A Progress error stops the download (ABOR) and is returned; the part that
			// arrived stays, ResumeDownload completes it, and the connection is usable.
			stop := errors.New("enough")
			part := filepath.Join(dir, "part.bin")
			cut := progressLog{stopAfter: 1 << 20, stopReturn: stop}
			if err := c.RetrieveFile("f.bin", part, cut.fn); !errors.Is(err, stop) {
				t.Fatalf("RetrieveFile stopped by Progress: %v, want %v", err, stop)
			}
			fi, err := os.Stat(part)
			if err != nil || fi.Size() == 0 || fi.Size() >= int64(len(data)) {
				t.Fatalf("after the stop: %v, size %d; want a part of %d", err, fi.Size(), len(data))
			}
			f, err := os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			var resumed progressLog
			n, err := c.ResumeDownload("f.bin", f, resumed.fn)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n != uint64(len(data))-uint64(fi.Size()) {
				t.Errorf("ResumeDownload moved %d bytes, want %d", n, len(data)-int(fi.Size()))
			}
			if resumed.done != uint64(len(data)) || resumed.total != int64(len(data)) || resumed.wentBack {
				t.Errorf("resume progress: %+v, want done = total = %d", resumed, len(data))
			}
			if b, _ := os.ReadFile(part); !bytes.Equal(b, data) {
				t.Fatalf("after ResumeDownload: %d bytes, want %d identical", len(b), len(data))
			}

			// RetrieveTo from an offset, StoreFrom, ResumeUpload.
			tail, err := os.Create(filepath.Join(dir, "tail.bin"))
			if err != nil {
				t.Fatal(err)
			}
			n, err = c.RetrieveTo("f.bin", tail, 1000, nil)
			tail.Close()
			if err != nil || n != uint64(len(data)-1000) {
				t.Fatalf("RetrieveTo from 1000: %d, %v; want %d bytes", n, err, len(data)-1000)
			}
			if b, _ := os.ReadFile(tail.Name()); !bytes.Equal(b, data[1000:]) {
				t.Errorf("RetrieveTo from 1000: wrong bytes")
			}
			head, err := os.Open(local)
			if err != nil {
				t.Fatal(err)
			}
			defer head.Close()
			// Send the first 1 MiB (a LimitedReader cannot be used: StoreFrom sends to the
			// end of the file), then resume the rest.
			firstMiB := filepath.Join(dir, "first.bin")
			if err := os.WriteFile(firstMiB, data[:1<<20], 0o644); err != nil {
				t.Fatal(err)
			}
			first, err := os.Open(firstMiB)
			if err != nil {
				t.Fatal(err)
			}
			n, err = c.StoreFrom("g.bin", first, -1, false, nil)
			first.Close()
			if err != nil || n != 1<<20 {
				t.Fatalf("StoreFrom: %d, %v", n, err)
			}
			n, err = c.ResumeUpload("g.bin", head, nil)
			if err != nil || n != uint64(len(data)-(1<<20)) {
				t.Fatalf("ResumeUpload: %d, %v; want %d bytes", n, err, len(data)-(1<<20))
			}
			var back bytes.Buffer
			if err := c.Retr("g.bin", &back); err != nil || !bytes.Equal(back.Bytes(), data) {
				t.Fatalf("after ResumeUpload: %d bytes, %v; want %d identical", back.Len(), err, len(data))
			}
			if _, err := c.StoreFrom("h.bin", nil, -1, false, nil); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("StoreFrom(nil file): %v, want ErrInvalidArgument", err)
			}
		})
	}
}
