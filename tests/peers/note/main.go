// Command notepeer opens a signed note with transparency-dev's note package
// (github.com/transparency-dev/formats/note, on golang.org/x/mod/sumdb/note),
// an independent implementation of C2SP signed notes: Ed25519 keys, ECDSA
// P-256 keys (Rekor's type 0x02) and cosignature/v1 keys.
//
// Usage: notepeer NOTE VKEY...
//
// Prints "ok NAME..." (the keys whose signatures verified) and exits 0; exits
// 1 when the note does not open with those keys (a bad signature from a known
// key, or none verified); 2 on bad usage or a key it cannot read.
//
// Build (GOPATH mode, no module proxy): the formats archive unpacked to
// $DIR/src/github.com/transparency-dev/formats, then
//
//	GO111MODULE=off GOPATH=/usr/share/gocode:$DIR go build -o notepeer main.go
package main

import (
	"fmt"
	"os"
	"strings"

	tdnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: notepeer NOTE VKEY...")
		os.Exit(2)
	}
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var vs []note.Verifier
	for _, k := range os.Args[2:] {
		v, err := tdnote.NewVerifier(k)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vkey %q: %v\n", k, err)
			os.Exit(2)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		fmt.Fprintf(os.Stderr, "the note does not open: %v\n", err)
		os.Exit(1)
	}
	var names []string
	for _, s := range n.Sigs {
		names = append(names, s.Name)
	}
	fmt.Printf("ok %s\n", strings.Join(names, " "))
}
