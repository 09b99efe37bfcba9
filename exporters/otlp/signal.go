package otlp

// signal is one of the three kinds of telemetry, each with its own exporter.
type signal uint8

const (
	traces signal = iota
	metrics
	logs
	numSignals
)

var signalNames = [numSignals]string{traces: "traces", metrics: "metrics", logs: "logs"}

// String returns the signal's name as in the OTLP HTTP paths.
func (s signal) String() string { return signalNames[s] }

// envName is the signal's part of the per-signal environment variables,
// as in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_TRACES_EXPORTER.
func (s signal) envName() string {
	switch s {
	case traces:
		return "TRACES"
	case metrics:
		return "METRICS"
	default:
		return "LOGS"
	}
}

// path is the signal's path on an OTLP/HTTP endpoint.
func (s signal) path() string { return "/v1/" + s.String() }

// signalSet is a set of signals, a bit each.
type signalSet uint8

func setOf(signals ...signal) signalSet {
	var set signalSet
	for _, s := range signals {
		set |= 1 << s
	}
	return set
}

func (set signalSet) has(s signal) bool { return set&(1<<s) != 0 }
