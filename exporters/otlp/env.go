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

// envDisabled reports whether OTEL_<SIGNAL>_EXPORTER turns signal s off.
func envDisabled(s signal) bool {
	v, _ := getenv("OTEL_" + s.envName() + "_EXPORTER")
	return v == "none"
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
