package ftpc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"
)

type walked struct {
	path  string
	depth int
	e     Entry
}

func walkAll(t *testing.T, c *Client, root string, opts ...WalkOption) []walked {
	t.Helper()
	var got []walked
	err := c.Walk(root, func(p []byte, e Entry, depth int) error {
		got = append(got, walked{string(p), depth, e})
		return nil
	}, opts...)
	if err != nil {
		t.Fatalf("Walk(%q): %v", root, err)
	}
	return got
}

func sortedPaths(ws []walked) string {
	var ps []string
	for _, w := range ws {
		ps = append(ps, fmt.Sprintf("%s:%d", w.path, w.depth))
	}
	sort.Strings(ps)
	return strings.Join(ps, " ")
}

func TestWalk(t *testing.T) {
	for _, s := range servers(t) {
		s := s
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.port)
			scratch(t, c, "walk")
			for _, d := range []string{"t", "t/a", "t/a/b", "t/empty"} {
				if _, err := c.Mkd(d); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{"t/a/b/deep.txt", "t/with space.txt"} {
				if err := c.Stor(f, bytes.NewReader([]byte("1234567"))); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				var all []walked
				_ = c.Walk("t", func(p []byte, e Entry, depth int) error {
					all = append(all, walked{string(p), depth, e})
					return nil
				})
				for i := len(all) - 1; i >= 0; i-- {
					if all[i].e.Type == EntryDir {
						_ = c.Rmd(all[i].path)
					} else {
						_ = c.Delete(all[i].path)
					}
				}
				_ = c.Rmd("t")
			})

			refused := -1
			got := walkAll(t, c, "t", WalkRefused(&refused))
			want := "t/a/b/deep.txt:3 t/a/b:2 t/a:1 t/empty:1 t/with space.txt:1"
			if p := sortedPaths(got); p != want {
				t.Fatalf("walk: %s, want %s", p, want)
			}
			if refused != 0 {
				t.Fatalf("refused %d", refused)
			}
			for _, w := range got {
				switch w.path {
				case "t/a/b", "t/empty":
					if w.e.Type != EntryDir || w.e.Name != w.path[strings.LastIndexByte(w.path, '/')+1:] {
						t.Fatalf("%s: %+v", w.path, w.e)
					}
				case "t/with space.txt":
					if w.e.Type != EntryFile || w.e.Size != 7 || w.e.Name != "with space.txt" {
						t.Fatalf("%s: %+v", w.path, w.e)
					}
				}
				if (w.e.Facts != nil) != s.hasMLSD {
					t.Fatalf("%s: facts %v on %s", w.path, w.e.Facts, s.name)
				}
			}
			// Depth-first: t/a's entries right after it.
			for i, w := range got {
				if w.path == "t/a" && (i+2 >= len(got) || got[i+1].path != "t/a/b" || got[i+2].path != "t/a/b/deep.txt") {
					t.Fatalf("not depth-first: %v", got)
				}
			}
			// Breadth-first: depths never go down.
			bf := walkAll(t, c, "t", WalkBreadthFirst())
			if !sort.SliceIsSorted(bf, func(i, j int) bool { return bf[i].depth < bf[j].depth }) || len(bf) != 5 {
				t.Fatalf("breadth-first: %v", bf)
			}
			// Max depth.
			if p := sortedPaths(walkAll(t, c, "t", WalkMaxDepth(1))); p != "t/a:1 t/empty:1 t/with space.txt:1" {
				t.Fatalf("max depth 1: %s", p)
			}
			if p := sortedPaths(walkAll(t, c, "t", WalkMaxDepth(2))); p != "t/a/b:2 t/a:1 t/empty:1 t/with space.txt:1" {
				t.Fatalf("max depth 2: %s", p)
			}
			// fs.SkipDir: t/a handed out, not entered.
			var seen []walked
			err := c.Walk("t", func(p []byte, e Entry, depth int) error {
				seen = append(seen, walked{string(p), depth, e})
				if string(p) == "t/a" {
					return fs.SkipDir
				}
				return nil
			})
			if err != nil || sortedPaths(seen) != "t/a:1 t/empty:1 t/with space.txt:1" {
				t.Fatalf("skip: %v %s", err, sortedPaths(seen))
			}
			// SkipAll ends the walk without an error; another error is returned as is.
			n := 0
			if err := c.Walk("t", func([]byte, Entry, int) error { n++; return SkipAll }); err != nil || n != 1 {
				t.Fatalf("SkipAll: %v after %d", err, n)
			}
			mine := errors.New("mine")
			if err := c.Walk("t", func([]byte, Entry, int) error { return mine }); err != mine {
				t.Fatalf("own error: %v", err)
			}
			// The connection goes on; a missing root is the error.
			if _, err := c.Pwd(); err != nil {
				t.Fatal(err)
			}
			if err := c.Walk("no-such-dir", func([]byte, Entry, int) error { return nil }); !errors.Is(err, ErrPerm) {
				t.Fatalf("missing root: %v", err)
			}
			if err := c.Walk("t", func([]byte, Entry, int) error { return nil }, WalkMaxDepth(-1)); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("negative depth: %v", err)
			}
		})
	}
}
