// Package conv holds the names the library gives to what it records:
// attribute keys, event names, its instrumentation scope and version. The
// root package and the exporters share them from here, so that a name is
// written once. The README lists them all for users.
package conv

import (
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ScopeName is the instrumentation scope of the library's tracer and meter.
const ScopeName = "github.com/extism-observe/observe"

// Version is the library's version, recorded as the instrumentation scope
// version.
const Version = "0.1.0"

// Attributes of the span of a plugin call. The extism.* keys came first and
// stay, for the users whose queries and dashboards name them; where the
// semantic conventions have a key for the same thing, it is set too.
const (
	// CodeFunction is the semantic conventions' code.function.name: the
	// export on a call span (beside Function), the demangled function name
	// on a function span.
	CodeFunction = semconv.CodeFunctionNameKey
	// ProcessExitCode is the semantic conventions' process.exit.code: the
	// WASI exit code, beside ExitCode.
	ProcessExitCode = semconv.ProcessExitCodeKey

	Function   = attribute.Key("extism.function")    // the export the call ran
	Module     = attribute.Key("extism.module")      // the module instance ("main_N")
	ReturnCode = attribute.Key("extism.return_code") // the i32 the export returned
	ExitCode   = attribute.Key("extism.exit_code")   // the WASI exit code, when the guest exited
	Plugin     = attribute.Key("extism.plugin.name") // the plugin's name (PluginName)
)

// The call metrics.
const (
	MetricCallDuration = "extism.call.duration" // histogram, s: one per plugin call
	MetricCallsActive  = "extism.call.active"   // up-down counter, {call}: calls in flight
	MetricMemoryUsage  = "extism.memory.usage"  // gauge, By: the guest's linear memory after each call
)

// CallDurationBuckets are the bucket boundaries of extism.call.duration,
// in seconds: from tens of microseconds (an empty export) to tens of
// seconds (a plugin at its manifest timeout).
var CallDurationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Attributes of the span of a call of one of the app's host functions.
const HostNamespace = attribute.Key("extism.host_function.namespace") // the host function's namespace

// Attributes and events of guest spans.
const (
	Truncated     = attribute.Key("observe.truncated")   // a name cut to Limits.MaxStringBytes
	FunctionIndex = attribute.Key("wasm.function.index") // a function span's wasm function index

	// EventMemoryGrow records one memory growth, with GrowPages and
	// GrowBytes; a span's MemoryGrown is its running total.
	EventMemoryGrow = "memory.grow"
	GrowPages       = attribute.Key("wasm.memory.grow.pages")
	GrowBytes       = attribute.Key("wasm.memory.grow.bytes")
	MemoryGrown     = attribute.Key("wasm.memory.grown.bytes")
)

// EventLog is the span event of a guest log, with LogSeverity and
// LogMessage.
const (
	EventLog    = "log"
	LogSeverity = attribute.Key("log.severity")
	LogMessage  = attribute.Key("log.message")
)

// GuestPrefix namespaces the span tags of untrusted guests, and of any
// guest tag in the library's own namespaces ("extism.", "observe.",
// "wasm.").
const GuestPrefix = "guest."
