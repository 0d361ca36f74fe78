// Command notepeer opens a signed note with transparency-dev's note package
// (github.com/transparency-dev/formats/note, on golang.org/x/mod/sumdb/note),
// an independent implementation of C2SP signed notes: Ed25519 keys, ECDSA
// P-256 keys (Rekor's type 0x02) and cosignature/v1 keys.
//
// Usage: notepeer NOTE VKEY...
//
//	notepeer cosign NAME TEXT
//
// Prints "ok NAME..." (the keys whose signatures verified) and exits 0; exits
// 1 when the note does not open with those keys (a bad signature from a known
// key, or none verified); 2 on bad usage or a key it cannot read.
//
// `cosign` makes a fresh cosignature/v1 key named NAME, cosigns the note text
// in the file TEXT with it (transparency-dev's signer), and prints the
// verifier key on the first line, then the cosigned note.
//
// Build (GOPATH mode, no module proxy): the formats archive unpacked to
// $DIR/src/github.com/transparency-dev/formats, then
//
//	GO111MODULE=off GOPATH=/usr/share/gocode:$DIR go build -o notepeer main.go
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	tdnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func cosign(name, textFile string) {
	text, err := os.ReadFile(textFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	signer, err := tdnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	covkey, err := tdnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("%s\n%s", covkey, signed)
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "cosign" {
		cosign(os.Args[2], os.Args[3])
		return
	}
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
