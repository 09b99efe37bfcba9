// Command benchtable reads the output of the observe benchmarks (go test
// -bench, any number of runs, from files or stdin) and prints, in
// Markdown, the ratio of each measured case to its baseline (medians, as
// benchstat uses), with the targets of the "Performance" issue.
//
//	go run ./cmd/benchtable results.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// comparison is one target of the issue: a case against its baseline.
type comparison struct {
	what string
	// target and baseline are benchmark names (see parse); for a row
	// measured only in a paired benchmark they are empty.
	target, baseline string
	// unit is the time unit compared: "ns/op", or "ns/fncall".
	unit string
	// paired names the BenchmarkPaired case that times the same two
	// alternately; when there is one, its ratio decides the target.
	paired string
	// maxRatio is the target for the time ratio; 0 means none.
	maxRatio float64
	// allocFloor names the benchmark whose allocations the case may not
	// exceed, when the target says so.
	allocFloor string
	// floor is the lowest ratio any implementation can reach on this
	// runtime, from what the same run measured, and what it is made of.
	floor     func(results) (float64, bool)
	floorText string
}

// plus is the floor of a case that must do base's work and extra's:
// (base + extra) / base.
func plus(base, extra, unit string) func(results) (float64, bool) {
	return func(res results) (float64, bool) {
		b, ok1 := res.get(base, unit)
		e, ok2 := res.get(extra, unit)
		return (b + e) / b, ok1 && ok2 && b > 0
	}
}

// ratio is a over b.
func ratio(a, b, unit string) func(results) (float64, bool) {
	return func(res results) (float64, bool) {
		x, ok1 := res.get(a, unit)
		y, ok2 := res.get(b, unit)
		return x / y, ok1 && ok2 && y > 0
	}
}

// pairedRatio is the median ratio of a paired benchmark.
func pairedRatio(name string) func(results) (float64, bool) {
	return func(res results) (float64, bool) { return res.get(name, "case/base") }
}

// sdkCallFloor is what the floor of the SDK's call benchmarks is made of.
const sdkCallFloor = "wazero's listeners on the exports, and host functions that do nothing"

// one is the floor of a case whose baseline is its floor.
func one(results) (float64, bool) { return 1, true }

var comparisons = []comparison{
	{what: "guest span pair vs a native span", target: "Span/guest", baseline: "Span/native", unit: "ns/op",
		paired: "Paired/span-guest-vs-native", maxRatio: 1.25,
		floor: pairedRatio("Paired/span-native-in-host-vs-native"), floorText: "the native span, made in the two host calls the guest makes"},
	{what: "guest span pair vs the native span made in the host functions it calls", paired: "Paired/span-guest-vs-native-in-host",
		floor: one, floorText: "its baseline"},
	{what: "guest span pair vs a native span and two host calls, one after the other (info)", paired: "Paired/span-guest-vs-native-plus-floor",
		floor: one, floorText: "its baseline"},
	{what: "guest span pair vs the observe-sdk integration", target: "SpanAdapter/guest", baseline: "SpanAdapter/observe-sdk", unit: "ns/op",
		maxRatio: 1.0 / 3, floor: func(res results) (float64, bool) {
			n, ok1 := res.get("SpanAdapter/native", "ns/op")
			f, ok2 := res.get("Span/floor", "ns/op")
			a, ok3 := res.get("SpanAdapter/observe-sdk", "ns/op")
			return (n + f) / a, ok1 && ok2 && ok3
		}, floorText: "a native span and two host calls"},
	{what: "instrumented call, filtered (WithMinDuration 20µs), vs the module with host functions that do nothing",
		target: "Instrumented/min-20us", baseline: "Instrumented/unobserved", unit: "ns/fncall",
		paired: "Paired/instrumented-filtered-vs-unobserved", maxRatio: 1.5,
		floor: pairedRatio("Paired/instrumented-clock-floor-vs-unobserved"), floorText: "the host calls reading the clock once each"},
	{what: "instrumented call, kept (WithMinDuration 0), vs the observe-sdk integration, all spans kept",
		target: "InstrumentedAdapter/observe", baseline: "InstrumentedAdapter/observe-sdk", unit: "ns/fncall", maxRatio: 1.0 / 3,
		floor: func(res results) (float64, bool) {
			n, ok1 := res.get("Paired/instrumented-kept-vs-native", "base-ns/op")
			u, ok2 := res.get("Instrumented/unobserved", "ns/fncall")
			a, ok3 := res.get("InstrumentedAdapter/observe-sdk", "ns/fncall")
			return (n/10000 + u) / a, ok1 && ok2 && ok3
		}, floorText: "a native span per call and the unobserved call"},
	{what: "instrumented call, kept, vs a native span per call", paired: "Paired/instrumented-kept-vs-native", maxRatio: 1.5,
		floor: func(res results) (float64, bool) {
			n, ok1 := res.get("Paired/instrumented-kept-vs-native", "base-ns/op")
			u, ok2 := res.get("Instrumented/unobserved", "ns/op")
			return (n + u) / n, ok1 && ok2
		}, floorText: "the native spans and the unobserved calls"},
	{what: "guest log line vs the same work in Go (zerolog line with trace fields, OTel log record, span event)",
		target: "Log/guest-otel-logs", baseline: "Log/native-equivalent-otel-logs", unit: "ns/op",
		paired: "Paired/log-vs-native-equivalent", maxRatio: 1.25,
		floor: plus("Log/native-equivalent-otel-logs", "Log/floor", "ns/op"), floorText: "the Go work and a host call"},
	{what: "guest log line vs the same work in Go, without an OTel LoggerProvider (info)",
		target: "Log/guest", baseline: "Log/native-equivalent", unit: "ns/op",
		floor: plus("Log/native-equivalent", "Log/floor", "ns/op"), floorText: "the Go work and a host call"},
	{what: "guest counter line vs a host call that makes the counter.Add", paired: "Paired/counter-vs-native-in-host", maxRatio: 1.25,
		floor: one, floorText: "its baseline"},
	{what: "guest histogram line vs a host call that makes the histogram.Record", paired: "Paired/histogram-vs-native-in-host", maxRatio: 1.25,
		floor: one, floorText: "its baseline"},
	{what: "guest counter line vs host calls and counter.Add calls, apart (info)", paired: "Paired/counter-vs-floor-plus-native",
		floor: one, floorText: "its baseline"},
	{what: "guest histogram line vs host calls and histogram.Record calls, apart (info)", paired: "Paired/histogram-vs-floor-plus-native",
		floor: one, floorText: "its baseline"},
	{what: "plugin call (loops request, 10 API calls), no-op providers, vs unobserved",
		target: "Call/request/observed-noop", baseline: "Call/request/unobserved", unit: "ns/op",
		paired: "Paired/call-request-noop-vs-unobserved", maxRatio: 1.1, allocFloor: "Call/request/unobserved",
		floor: one, floorText: "its baseline: an inert Observer's plugin has no listeners"},
	{what: "plugin call (cguest run, 13 API calls), no-op providers, vs unobserved",
		target: "Call/cguest-run/observed-noop", baseline: "Call/cguest-run/unobserved", unit: "ns/op",
		paired: "Paired/call-cguest-run-noop-vs-unobserved", maxRatio: 1.1, allocFloor: "Call/cguest-run/unobserved",
		floor: one, floorText: "its baseline: an inert Observer's plugin has no listeners"},
	{what: "plugin call (loops request), no-op providers but OTel's global LoggerProvider (silent calls), vs unobserved (info)",
		target: "Call/request/observed-silent", baseline: "Call/request/unobserved", unit: "ns/op",
		paired: "Paired/call-request-silent-vs-unobserved", allocFloor: "Call/request/listeners-only",
		floor: pairedRatio("Paired/call-request-listeners-vs-unobserved"), floorText: "wazero's listeners on the exports"},
	{what: "plugin call (cguest run), the same (info)",
		target: "Call/cguest-run/observed-silent", baseline: "Call/cguest-run/unobserved", unit: "ns/op",
		paired: "Paired/call-cguest-run-silent-vs-unobserved", allocFloor: "Call/cguest-run/listeners-only",
		floor: ratio("Call/cguest-run/listeners-only", "Call/cguest-run/unobserved", "ns/op"), floorText: "wazero's listeners on the exports"},
	{what: "the Extism SDK's BenchmarkNoop, observer with OTel's global providers, vs none",
		target: "Noop/noop/noop", baseline: "Noop/noop/off", unit: "ns/op", maxRatio: 1.05,
		paired: "Paired/sdk-noop-noop-vs-plain",
		floor:  pairedRatio("Paired/sdk-noop-listeners-vs-plain"), floorText: sdkCallFloor},
	{what: "the Extism SDK's BenchmarkReplace/empty, the same", target: "Replace/empty/noop", baseline: "Replace/empty/off", unit: "ns/op",
		maxRatio: 1.05, paired: "Paired/sdk-replace-empty-noop-vs-plain",
		floor: pairedRatio("Paired/sdk-replace-empty-listeners-vs-plain"), floorText: sdkCallFloor},
	{what: "the Extism SDK's BenchmarkReplace/32768, the same", target: "Replace/32768/noop", baseline: "Replace/32768/off", unit: "ns/op",
		maxRatio: 1.05, floor: ratio("Replace/32768/listeners", "Replace/32768/off", "ns/op"), floorText: sdkCallFloor},
	{what: "the Extism SDK's BenchmarkInitializeWithCache (shared compilation cache), the same",
		target: "InitializeWithCache/noop/noop", baseline: "InitializeWithCache/noop/off", unit: "ns/op", maxRatio: 1.1,
		paired: "Paired/sdk-init-noop-vs-plain",
		floor:  pairedRatio("Paired/sdk-init-floor-vs-plain"), floorText: "as many host functions that do nothing"},
	{what: "the Extism SDK's BenchmarkNoop, observer recording every call (info)", target: "Noop/noop/on", baseline: "Noop/noop/off", unit: "ns/op"},
	{what: "sampled-out guest span pair vs host-call floor", target: "Span/sampled-out", baseline: "Span/floor", unit: "ns/op",
		paired: "Paired/span-sampled-out-vs-floor", allocFloor: "Span/floor"},
	{what: "guest span pair, no-op providers, vs host-call floor", target: "Span/noop-provider", baseline: "Span/floor", unit: "ns/op",
		paired: "Paired/span-noop-vs-floor", allocFloor: "Span/floor"},
	{what: "disabled-level guest log vs host-call floor", target: "LogDisabled/guest", baseline: "LogDisabled/floor", unit: "ns/op",
		paired: "Paired/log-disabled-vs-floor", allocFloor: "LogDisabled/floor"},
	{what: "guest counter line, no-op providers, vs host-call floor", target: "Counter/noop-provider", baseline: "Counter/floor", unit: "ns/op",
		paired: "Paired/counter-noop-vs-floor", allocFloor: "Counter/floor"},
	{what: "instrumented call, no-op providers, vs unobserved (info)", target: "Instrumented/noop-provider", baseline: "Instrumented/unobserved", unit: "ns/fncall"},
	{what: "plain call, WithFunctionSpans(\"*\") min 20µs, vs unobserved (info)", target: "FunctionSpans/all-min-20us", baseline: "FunctionSpans/unobserved", unit: "ns/fncall"},
	{what: "plain call, WithFunctionSpans(\"*\") min 0, vs unobserved (info)", target: "FunctionSpans/all-min-0", baseline: "FunctionSpans/unobserved", unit: "ns/fncall"},
}

// results maps a benchmark name (without "Benchmark" and the -GOMAXPROCS
// suffix) to its values by unit.
type results map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader, res results, order *[]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		name = strings.NewReplacer("impl=", "", "guest=", "", "case=", "", "observer=", "").Replace(name)
		if res[name] == nil {
			res[name] = map[string][]float64{}
			*order = append(*order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return sc.Err()
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (res results) get(name, unit string) (float64, bool) {
	vs := res[name][unit]
	return median(vs), len(vs) > 0
}

func fmtNs(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f ns", v)
	}
	return fmt.Sprintf("%.1f ns", v)
}

func main() {
	res := results{}
	var order []string
	if len(os.Args) < 2 {
		if err := parse(os.Stdin, res, &order); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = parse(f, res, &order)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	fmt.Println("| target | case | baseline | ratio | floor | allocs/op: case / baseline (floor) | target | met |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|---|")
	for _, c := range comparisons {
		var t, base, r float64
		var ok bool
		pairedOnly := c.target == ""
		if pairedOnly {
			t, ok = res.get(c.paired, "case-ns/op")
			base, _ = res.get(c.paired, "base-ns/op")
		} else {
			var ok2 bool
			t, ok = res.get(c.target, c.unit)
			base, ok2 = res.get(c.baseline, c.unit)
			ok = ok && ok2
		}
		if !ok {
			continue
		}
		r = t / base
		ratioCol := fmt.Sprintf("%.2f×", r)
		if c.paired != "" {
			if pr, ok := res.get(c.paired, "case/base"); ok {
				r = pr
				ratioCol = fmt.Sprintf("**%.2f×** paired", pr)
				if !pairedOnly {
					ratioCol += fmt.Sprintf(" (%.2f× apart)", t/base)
				}
			}
		}
		floorCol := "—"
		var floor float64
		if c.floor != nil {
			if f, ok := c.floor(res); ok {
				floor = f
				floorCol = fmt.Sprintf("%.2f× (%s)", f, c.floorText)
			}
		}
		allocCol := "—"
		allocsOK := true
		if !pairedOnly {
			ta, _ := res.get(c.target, "allocs/op")
			ba, _ := res.get(c.baseline, "allocs/op")
			allocCol = fmt.Sprintf("%.0f / %.0f", ta, ba)
			if c.allocFloor != "" {
				fa, _ := res.get(c.allocFloor, "allocs/op")
				if c.allocFloor != c.baseline {
					allocCol += fmt.Sprintf(" (%.0f)", fa)
				}
				allocsOK = ta <= fa
			}
		}
		target, met := "—", "—"
		var parts []string
		if c.maxRatio > 0 {
			if c.maxRatio < 1 {
				parts = append(parts, fmt.Sprintf("≤ 1/%.0f×", 1/c.maxRatio))
			} else {
				parts = append(parts, fmt.Sprintf("≤ %.3g×", c.maxRatio))
			}
		}
		if c.allocFloor != "" {
			parts = append(parts, "allocs ≤ floor's")
		}
		if len(parts) > 0 {
			target = strings.Join(parts, ", ")
			switch {
			case (c.maxRatio == 0 || r <= c.maxRatio) && allocsOK:
				met = "yes"
			case c.maxRatio > 0 && r > c.maxRatio && floor > c.maxRatio:
				met = "**no**: floor above target"
			default:
				met = "**no**"
			}
		}
		unit := ""
		if c.unit != "" && c.unit != "ns/op" {
			unit = " (" + c.unit + ")"
		}
		fmt.Printf("| %s%s | %s | %s | %s | %s | %s | %s | %s |\n", c.what, unit, fmtNs(t), fmtNs(base), ratioCol, floorCol, allocCol, target, met)
	}

	fmt.Println()
	fmt.Println("| paired benchmark (alternating in one loop) | runs | baseline | case | case/base (median) | min | max |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range order {
		vs := res[name]["case/base"]
		if len(vs) == 0 {
			continue
		}
		bn, _ := res.get(name, "base-ns/op")
		cn, _ := res.get(name, "case-ns/op")
		fmt.Printf("| %s | %d | %s | %s | %.2f× | %.2f× | %.2f× |\n", name, len(vs), fmtNs(bn), fmtNs(cn),
			median(vs), slices.Min(vs), slices.Max(vs))
	}

	fmt.Println()
	fmt.Println("| benchmark | runs | time/op (median) | per function call | B/op | allocs/op |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, name := range order {
		if len(res[name]["case/base"]) > 0 {
			continue
		}
		ns, _ := res.get(name, "ns/op")
		by, _ := res.get(name, "B/op")
		al, _ := res.get(name, "allocs/op")
		per := ""
		if v, ok := res.get(name, "ns/fncall"); ok {
			per = fmtNs(v)
		}
		fmt.Printf("| %s | %d | %s | %s | %.0f | %.0f |\n", name, len(res[name]["ns/op"]), fmtNs(ns), per, by, al)
	}
}
