// Command sdkcopy writes a copy of the Extism Go SDK whose tests and
// benchmarks run with the observer when OBSERVE_COMPAT is set; see package
// compat. Usage: go run ./cmd/sdkcopy DIR (from compat/, in this checkout).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/extism-observe/observe/compat"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sdkcopy DIR")
		os.Exit(2)
	}
	root, err := filepath.Abs("..")
	if err == nil {
		err = compat.PrepareSDK(os.Args[1], root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
