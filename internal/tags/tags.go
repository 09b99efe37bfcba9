// Package tags reads the tag lists guests write: "k:v,k2:v2" in span tags
// and in DogStatsD metric lines.
package tags

import "strings"

// Scanner iterates over the tags of a guest tag string without allocating.
//
// The string is a ','-joined list of "key:value" tags. It is split at the
// first ':' only, because values are often URLs. A tag without ':' is a flag.
// Items with an empty key carry nothing to record and are skipped. The same
// format is used by span tags and by DogStatsD metric tags.
type Scanner struct{ S string }

// Next returns the next tag; ok is false when no tags are left.
// key and value are substrings of the scanned string, trimmed of spaces and
// tabs; value is "" when hasValue is false.
func (t *Scanner) Next() (key, value string, hasValue, ok bool) {
	for t.S != "" {
		var item string
		item, t.S, _ = strings.Cut(t.S, ",")
		key, value, hasValue = strings.Cut(item, ":")
		if key = TrimSpacesTabs(key); key != "" {
			return key, TrimSpacesTabs(value), hasValue, true
		}
	}
	return "", "", false, false
}

// TrimSpacesTabs trims spaces and tabs from both ends of s. Unlike
// strings.TrimSpace it keeps other bytes, so that nothing but the padding
// people type around separators is dropped.
func TrimSpacesTabs(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
