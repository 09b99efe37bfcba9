package observe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/extism-observe/observe/internal/statsd"
	"github.com/extism-observe/observe/internal/tags"
)

// metricFormatStatsd is the only metric format of the Observe API: one or
// more statsd lines joined by '\n'.
const metricFormatStatsd = 1

// maxGaugeSeries bounds the attribute sets whose current value a gauge
// keeps for relative updates ("+n|g").
const maxGaugeSeries = 1000

// instrumentClass is the OpenTelemetry instrument a statsd type becomes.
type instrumentClass uint8

const (
	classCounter   instrumentClass = iota + 1 // c
	classGauge                                // g
	classHistogram                            // h, d
	classTimer                                // ms: a histogram in milliseconds
)

func classOf(k statsd.Kind) instrumentClass {
	switch k {
	case statsd.Counter:
		return classCounter
	case statsd.Gauge:
		return classGauge
	case statsd.Timer:
		return classTimer
	case statsd.Histogram, statsd.Distribution:
		return classHistogram
	}
	return 0
}

func (c instrumentClass) String() string {
	switch c {
	case classCounter:
		return "counter"
	case classGauge:
		return "gauge"
	case classTimer:
		return "timer (ms histogram)"
	}
	return "histogram"
}

// instrument is the OpenTelemetry instrument made for one statsd name.
type instrument struct {
	name      string // the statsd name, owned
	class     instrumentClass
	counter   metric.Float64Counter
	gauge     metric.Float64Gauge
	histogram metric.Float64Histogram

	mu      sync.Mutex
	current map[attribute.Distinct]float64 // gauge values, for relative updates

	// options caches the measurement option (the attribute set) made from
	// each DogStatsD tag string seen, so that a line recorded again builds
	// nothing. It holds at most maxTagSets.
	optMu   sync.RWMutex
	options map[string]*tagSet
}

// maxTagSets bounds the tag strings an instrument remembers.
const maxTagSets = 1000

// noTags is the tag set of a line without tags: no option at all, which
// the SDK's Add and Record handle fastest.
var noTags = &tagSet{set: *attribute.EmptySet()}

// tagSet returns the attribute set of a non-empty tag string (which may
// alias guest memory), with its options.
func (in *instrument) tagSet(tags string) *tagSet {
	in.optMu.RLock()
	e := in.options[tags]
	in.optMu.RUnlock()
	if e != nil {
		return e
	}
	e = newTagSet(metricAttributes(tags))
	in.optMu.Lock()
	if in.options == nil {
		in.options = make(map[string]*tagSet)
	}
	if len(in.options) < maxTagSets {
		in.options[strings.Clone(tags)] = e
	}
	in.optMu.Unlock()
	return e
}

type tagSet struct {
	set attribute.Set
	// The option as the variadic arguments of Add and Record, made once:
	// passing one option anew to an interface method allocates its slice.
	add    []metric.AddOption
	record []metric.RecordOption
}

func newTagSet(set attribute.Set) *tagSet {
	opt := metric.WithAttributeSet(set)
	return &tagSet{set: set, add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}}
}

// enabled reports whether the instrument records anything at all, so that
// a no-op MeterProvider costs no parsing of tags.
func (in *instrument) enabled(ctx context.Context) bool {
	switch in.class {
	case classCounter:
		return in.counter.Enabled(ctx)
	case classGauge:
		return in.gauge.Enabled(ctx)
	}
	return in.histogram.Enabled(ctx)
}

// instruments holds an Observer's instruments, one per metric name, made on
// first use and reused after. Reads take no lock: the map is copied on
// write, which happens once per name.
type instruments struct {
	meter metric.Meter
	max   int

	m  atomic.Pointer[map[string]*instrument]
	mu sync.Mutex // serialises writers
}

func (is *instruments) init(m metric.Meter, max int) {
	is.meter = m
	is.max = max
	is.m.Store(&map[string]*instrument{})
}

var (
	errStatsdSet   = errors.New("sets are not supported (OpenTelemetry has no set instrument)")
	errGaugeSeries = errors.New("observe: guest gauge series beyond its limit dropped")
	errMetricLimit = errors.New("observe: guest metric names beyond Limits.MaxMetricNames dropped")
	// errMetricClass holds, for each class, the error for a name already
	// used by an instrument of that class.
	errMetricClass = func() (e [classTimer + 1]error) {
		for c := classCounter; c <= classTimer; c++ {
			e[c] = errors.New("observe: guest metric line dropped: the name is already used by a metric of another type (" + c.String() + ")")
		}
		return e
	}()
)

// get returns the instrument for name, making it if needed. name may alias
// guest memory. It returns nil, and why, when the line must be dropped.
func (is *instruments) get(name string, class instrumentClass) (*instrument, dropReason, error) {
	in := (*is.m.Load())[name]
	if in == nil {
		is.mu.Lock()
		m := *is.m.Load()
		if in = m[name]; in == nil {
			if len(m) >= is.max {
				is.mu.Unlock()
				return nil, dropMetricLimit, errMetricLimit
			}
			var err error
			owned := strings.Clone(name)
			in, err = is.make(owned, class)
			if err != nil {
				is.mu.Unlock()
				return nil, dropBadMetric, fmt.Errorf("observe: guest metric line dropped: %w", err)
			}
			next := maps.Clone(m)
			next[owned] = in
			is.m.Store(&next)
		}
		is.mu.Unlock()
	}
	if in.class != class {
		return nil, dropBadMetric, errMetricClass[in.class]
	}
	return in, 0, nil
}

func (is *instruments) make(name string, class instrumentClass) (*instrument, error) {
	in := &instrument{name: name, class: class}
	var err error
	switch class {
	case classCounter:
		in.counter, err = is.meter.Float64Counter(name)
	case classGauge:
		in.gauge, err = is.meter.Float64Gauge(name)
		in.current = make(map[attribute.Distinct]float64)
	case classTimer:
		in.histogram, err = is.meter.Float64Histogram(name, metric.WithUnit("ms"))
	case classHistogram:
		in.histogram, err = is.meter.Float64Histogram(name)
	}
	return in, err
}

// metric records the statsd lines of one guest metric call, with the ctx
// of the innermost open span, so that exemplars point into the trace.
func (c *call) metric(mod api.Module, format int32, ptr uint64, n uint32) {
	if c.obs.metricsOff {
		return // a no-op MeterProvider: nothing to read, parse or record
	}
	if format != metricFormatStatsd {
		if e := c.drop(dropBadMetric); e != nil {
			e.Str("detail", "format="+strconv.FormatInt(int64(format), 10)).
				Msg("observe: guest metric dropped: unknown format (only 1, statsd, is defined)")
		}
		return
	}
	b, truncated, ok := c.guestBytes(mod, "metric", ptr, n)
	if !ok {
		return
	}
	payload := viewString(b)
	if truncated {
		// Only whole lines are kept: the cut one would be read wrong.
		if i := strings.LastIndexByte(payload, '\n'); i >= 0 {
			payload = payload[:i]
		} else {
			payload = ""
		}
	}
	ctx, _ := c.live()
	for {
		line, rest, ok := statsd.Next(payload)
		if !ok {
			return
		}
		payload = rest
		c.recordLine(ctx, line)
	}
}

// recordLine records one statsd line. A guest that reports a metric in a
// loop sends lines of one name in a row: the call keeps the instrument of
// its last line, and a line of the same name is read from its value on,
// without a lookup.
func (c *call) recordLine(ctx context.Context, line string) {
	var s statsd.Line
	var err error
	in := c.lastInstrument
	if in != nil && statsd.HasName(line, in.name) {
		err = s.ReadNamed(line, len(in.name))
	} else {
		in = nil
		err = s.Read(line)
	}
	if err != nil {
		c.badLine(dropBadMetric, "observe: malformed guest statsd line dropped: ", err, line)
		return
	}
	class := classOf(s.Kind)
	if class == 0 {
		c.badLine(dropBadMetric, "observe: guest statsd line dropped: ", errStatsdSet, line)
		return
	}
	if in == nil || in.class != class {
		var reason dropReason
		if in, reason, err = c.obs.metrics.get(s.Name, class); in == nil {
			c.badLine(reason, "", err, line)
			return
		}
		c.lastInstrument = in
	}
	// Add and Record check Enabled themselves; asking first spares the
	// tags' parsing and a gauge's bookkeeping when they would be dropped.
	if (s.Tags != "" || class == classGauge) && !in.enabled(ctx) {
		return
	}
	ts := noTags
	if s.Tags != "" {
		ts = in.tagSet(s.Tags)
	}
	switch class {
	case classCounter:
		v := s.Value
		if s.Rate != 1 {
			v /= s.Rate
		}
		in.counter.Add(ctx, v, ts.add...)
	case classHistogram, classTimer:
		in.histogram.Record(ctx, s.Value, ts.record...)
	case classGauge:
		v, ok := in.setGauge(ts.set, s.Value, s.Relative)
		if !ok {
			c.badLine(dropMetricLimit, "", errGaugeSeries, line)
			return
		}
		in.gauge.Record(ctx, v, ts.record...)
	}
}

// badLine counts a metric line dropped for reason and, when it is to be
// logged, logs prefix+err naming the line.
func (c *call) badLine(reason dropReason, prefix string, err error, line string) {
	if e := c.drop(reason); e != nil {
		e.Str("detail", quoteDetail(line)).Msg(prefix + err.Error())
	}
}

// setGauge applies a gauge line to the series' current value and returns
// the value to record.
func (in *instrument) setGauge(attrs attribute.Set, v float64, relative bool) (float64, bool) {
	key := attrs.Equivalent()
	in.mu.Lock()
	defer in.mu.Unlock()
	cur, seen := in.current[key]
	if !seen && len(in.current) >= maxGaugeSeries {
		return 0, false
	}
	if relative {
		v += cur
	}
	in.current[key] = v
	return v, true
}

// metricAttributes turns DogStatsD tags into an attribute set.
func metricAttributes(list string) attribute.Set {
	if list == "" {
		return *attribute.EmptySet()
	}
	var kvs []attribute.KeyValue
	ts := tags.Scanner{S: list}
	for {
		key, value, hasValue, ok := ts.Next()
		if !ok {
			break
		}
		if hasValue {
			kvs = append(kvs, attribute.String(owned(key), owned(value)))
		} else {
			kvs = append(kvs, attribute.Bool(owned(key), true))
		}
	}
	return attribute.NewSet(kvs...)
}

// quoteDetail makes guest text safe to put in a log line: quoted, escaped
// (no terminal control sequences) and cut to a readable length.
func quoteDetail(s string) string {
	const max = 256
	if len(s) > max {
		return strconv.QuoteToASCII(s[:max]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
