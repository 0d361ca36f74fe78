// Command tlogpeer checks Merkle tree hashes and proofs produced by
// yinzheng-anchor's SHA-256 profile with Go's golang.org/x/mod/sumdb/tlog, an
// independent RFC 6962 implementation (Debian golang-golang-x-mod-dev).
//
// Usage: tlogpeer CASES.json
//
// The JSON holds the log's entries (base64), tree roots for some sizes, and
// inclusion and consistency proofs. Every root must equal tlog.TreeHash, every
// proof must pass tlog.CheckRecord / tlog.CheckTree, and every proof with one
// bit flipped must fail. Prints "ok <n> checks" and exits 0, else exits 1.
//
// Build (no module proxy needed):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogpeer main.go
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/tlog"
)

type root struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

type inclusion struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Proof []string `json:"proof"`
}

type consistency struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
}

type cases struct {
	Entries     []string      `json:"entries"`
	Roots       []root        `json:"roots"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
}

func hash(s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func hashes(ss []string) []tlog.Hash {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		out[i] = hash(s)
	}
	return out
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogpeer: "+format+"\n", args...)
	os.Exit(1)
}

func flipped(p []tlog.Hash, i int) []tlog.Hash {
	q := append([]tlog.Hash(nil), p...)
	q[i%len(q)][0] ^= 1
	return q
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: tlogpeer CASES.json")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var c cases
	if err := json.Unmarshal(raw, &c); err != nil {
		fail("%v", err)
	}

	// Build the stored hashes of the whole tree from the entries alone.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("stored hash %d not available", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for n, e := range c.Entries {
		data, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			fail("entry %d: %v", n, err)
		}
		hs, err := tlog.StoredHashes(int64(n), data, reader)
		if err != nil {
			fail("StoredHashes %d: %v", n, err)
		}
		stored = append(stored, hs...)
	}

	checks := 0
	rootOf := map[int64]tlog.Hash{}
	for _, r := range c.Roots {
		th, err := tlog.TreeHash(r.Size, reader)
		if err != nil {
			fail("TreeHash(%d): %v", r.Size, err)
		}
		if th != hash(r.Root) {
			fail("TreeHash(%d) = %s, yinzheng says %s", r.Size, th, r.Root)
		}
		rootOf[r.Size] = th
		checks++
	}
	for _, in := range c.Inclusion {
		th, ok := rootOf[in.Size]
		if !ok {
			fail("no root for size %d", in.Size)
		}
		data, _ := base64.StdEncoding.DecodeString(c.Entries[in.Index])
		leaf := tlog.RecordHash(data)
		p := tlog.RecordProof(hashes(in.Proof))
		if err := tlog.CheckRecord(p, in.Size, th, in.Index, leaf); err != nil {
			fail("CheckRecord(index %d, size %d): %v", in.Index, in.Size, err)
		}
		checks++
		if len(p) > 0 {
			if tlog.CheckRecord(tlog.RecordProof(flipped(p, int(in.Index))), in.Size, th, in.Index, leaf) == nil {
				fail("CheckRecord accepted a flipped proof (index %d, size %d)", in.Index, in.Size)
			}
			checks++
		}
	}
	for _, cs := range c.Consistency {
		oldRoot, ok1 := rootOf[cs.Old]
		newRoot, ok2 := rootOf[cs.New]
		if !ok1 || !ok2 {
			fail("no roots for sizes %d, %d", cs.Old, cs.New)
		}
		p := tlog.TreeProof(hashes(cs.Proof))
		if err := tlog.CheckTree(p, cs.New, newRoot, cs.Old, oldRoot); err != nil {
			fail("CheckTree(%d -> %d): %v", cs.Old, cs.New, err)
		}
		checks++
		if len(p) > 0 {
			if tlog.CheckTree(tlog.TreeProof(flipped(p, int(cs.Old))), cs.New, newRoot, cs.Old, oldRoot) == nil {
				fail("CheckTree accepted a flipped proof (%d -> %d)", cs.Old, cs.New)
			}
			checks++
		}
	}
	fmt.Printf("ok %d checks\n", checks)
}
