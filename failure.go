package observe

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// The values of error.type on a failed plugin call: on its span, its
// failure log line and the extism.call.duration metric. They are few and
// fixed, as the semantic conventions ask of error.type.
const (
	errTrap         = "trap"          // the guest trapped: unreachable, out-of-bounds access, stack overflow...
	errTimeout      = "timeout"       // the ctx's deadline passed: the manifest's Timeout or the caller's
	errCancelled    = "cancelled"     // the ctx was cancelled
	errExit         = "exit"          // the guest called WASI proc_exit with a non-zero code
	errReturn       = "return"        // the export returned a non-zero code
	errHostFunction = "host_function" // a host function the guest called panicked
	errOther        = "_OTHER"        // anything else, as the conventions spell it
)

// outcome is how a plugin call ended.
type outcome struct {
	err       error  // nil on success, and for proc_exit(0)
	errorType string // "" on success
	// exitCode is the WASI exit code, when the guest really called
	// proc_exit; exited tells it from 0.
	exitCode uint32
	exited   bool
	// returnCode is the i32 the export returned, when it returns one.
	returnCode int32
	returned   bool
}

// outcomeOf classifies how a call in ctx ended: with err from wazero, or
// with results from an export def.
//
// A call stopped by its deadline or by cancellation also ends with a
// sys.ExitError, whose code is one of wazero's sentinels: that is no exit
// code of the guest's, and the ctx tells it apart (a guest's proc_exit(-1)
// has the same code as the cancellation sentinel).
func outcomeOf(ctx context.Context, def api.FunctionDefinition, results []uint64, err error) (o outcome) {
	if err == nil {
		if def != nil && len(def.ResultTypes()) == 1 && len(results) == 1 {
			o.returnCode, o.returned = api.DecodeI32(results[0]), true
			if o.returnCode != 0 {
				o.errorType = errReturn
			}
		}
		return o
	}
	var exitErr *sys.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		switch ctxErr := ctx.Err(); {
		case code == sys.ExitCodeDeadlineExceeded && errors.Is(ctxErr, context.DeadlineExceeded):
			return outcome{err: err, errorType: errTimeout}
		case code == sys.ExitCodeContextCanceled && errors.Is(ctxErr, context.Canceled):
			return outcome{err: err, errorType: errCancelled}
		case code == 0:
			return outcome{exited: true} // how a WASI command succeeds
		default:
			return outcome{err: err, errorType: errExit, exitCode: code, exited: true}
		}
	}
	o.err = err
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "wasm error: "):
		o.errorType = errTrap
	case strings.Contains(firstLine(msg), "(recovered by wazero)"):
		o.errorType = errHostFunction
	case errors.Is(err, context.DeadlineExceeded):
		o.errorType = errTimeout
	case errors.Is(err, context.Canceled):
		o.errorType = errCancelled
	default:
		o.errorType = errOther
	}
	return o
}

// describe is the span status description of a failed call: one line.
func (o *outcome) describe() string {
	switch o.errorType {
	case errTimeout:
		return "plugin call timed out"
	case errCancelled:
		return "plugin call cancelled"
	case errExit:
		return "plugin exited with code " + strconv.FormatUint(uint64(o.exitCode), 10)
	case errReturn:
		return "plugin returned " + strconv.FormatInt(int64(o.returnCode), 10)
	}
	return firstLine(o.err.Error())
}

// splitTrace splits an error message from wazero into its first line and
// the rest, the wasm stack trace (and, after a Go panic, the Go one).
func splitTrace(msg string) (first, trace string) {
	first, trace, _ = strings.Cut(msg, "\n")
	return first, strings.TrimSpace(trace)
}

func firstLine(msg string) string {
	first, _ := splitTrace(msg)
	return first
}

// runtimeInitExports are the exports that the Extism SDK runs, before the
// first call of an instance, to initialise the guest's language runtime.
var runtimeInitExports = map[string]bool{"_initialize": true, "__wasm_call_ctors": true}

// isRuntimeInit reports whether the export def is being run by the Extism
// SDK to initialise the guest's runtime, inside a CallWithContext of
// another export, rather than called by the app. Nothing but the stack
// tells the two apart; the check runs once per instance.
func isRuntimeInit(def api.FunctionDefinition) bool {
	if !runtimeInitExports[def.ExportNames()[0]] {
		return false
	}
	var pcs [48]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if rest, ok := strings.CutPrefix(f.Function, "github.com/extism/go-sdk."); ok {
			// The closures of runtime.go's findFunc (WASI reactors and
			// commands) and haskellRuntime run the initialisation;
			// CallWithContext itself runs an export the app called.
			if strings.HasPrefix(rest, "findFunc.") || strings.HasPrefix(rest, "haskellRuntime.") {
				return true
			}
			if strings.HasPrefix(rest, "(*Plugin).CallWithContext") {
				return false
			}
		}
		if !more {
			return false
		}
	}
}

// failure returns err, unless it is how a WASI program exits successfully.
func failure(err error) error {
	var exitErr *sys.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 0 {
		return nil
	}
	return err
}
