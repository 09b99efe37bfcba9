package main

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestMain(m *testing.M) {
	// wazero v1.9.0 caches its version in a global on the first runtime it
	// makes, unsynchronised; tests that each make their first runtime in
	// parallel would race there. The command makes one runtime per process.
	ctx := context.Background()
	_ = wazero.NewRuntime(ctx).Close(ctx)
	os.Exit(m.Run())
}
