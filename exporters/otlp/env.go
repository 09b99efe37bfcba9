package otlp

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// getenv returns the first of the variables that is set to something other
// than blanks, trimmed, and its name.
func getenv(names ...string) (value, name string) {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v, n
		}
	}
	return "", ""
}

// envProtocol returns the protocol that the environment asks of signal s,
// and the variable that says so; "" when none does.
func envProtocol(s signal) (Protocol, string) {
	v, name := getenv("OTEL_EXPORTER_OTLP_"+s.envName()+"_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	return Protocol(v), name
}

// envHeaders returns the headers that the environment gives signal s: those
// of OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS when set, else those of
// OTEL_EXPORTER_OTLP_HEADERS, as the OTLP exporters read them.
func envHeaders(s signal) (map[string]string, error) {
	v, name := getenv("OTEL_EXPORTER_OTLP_"+s.envName()+"_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
	h, err := parseHeaders(v)
	if err != nil {
		err = fmt.Errorf("otlp: %s: %w", name, err)
	}
	return h, err
}

// exporterKinds are the exporters OTEL_<SIGNAL>_EXPORTER asks for.
type exporterKinds struct {
	otlp, console bool
}

// envExporters returns the exporters OTEL_<SIGNAL>_EXPORTER asks for signal
// s: a comma-separated list of otlp (the default, when unset) and console
// (the stdout exporters), or none. Any other value is an error, as it is
// for the contrib autoexport package: a typo must not silently export
// somewhere else.
func envExporters(s signal) (exporterKinds, error) {
	v, name := getenv("OTEL_" + s.envName() + "_EXPORTER")
	if v == "" {
		return exporterKinds{otlp: true}, nil
	}
	var k exporterKinds
	none := false
	for item := range strings.SplitSeq(v, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "otlp":
			k.otlp = true
		case "console":
			k.console = true
		case "none":
			none = true
		default:
			return k, fmt.Errorf("otlp: %s=%q: unknown exporter %q, want otlp, console or none", name, v, strings.TrimSpace(item))
		}
	}
	if none && (k.otlp || k.console) {
		return exporterKinds{}, fmt.Errorf("otlp: %s=%q: none turns the signal off and cannot be combined with another exporter", name, v)
	}
	return k, nil
}

// parseHeaders parses the value of OTEL_EXPORTER_OTLP_HEADERS:
// comma-separated key=value pairs, values percent-encoded, blanks around
// keys and values trimmed. Keys are lower-cased. Invalid pairs are skipped,
// and reported in the error, as the OTLP exporters do.
func parseHeaders(s string) (map[string]string, error) {
	h := make(map[string]string)
	if strings.TrimSpace(s) == "" {
		return h, nil
	}
	var errs []error
	for pair := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !validHeaderKey(k) {
			errs = append(errs, fmt.Errorf("invalid header %q", pair))
			continue
		}
		v, err := url.PathUnescape(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("invalid header value %q: %w", pair, err))
			continue
		}
		h[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return h, errors.Join(errs...)
}

// validHeaderKey reports whether k is an HTTP token (RFC 9110), the form of
// a header name.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
