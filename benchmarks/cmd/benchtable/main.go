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

// comparison is one line of the table: a case against its baseline.
type comparison struct {
	what, target, baseline string
	// maxRatio is the target for the time ratio; 0 means no target.
	maxRatio float64
	// noExtraAllocs makes allocations beyond the baseline's a miss.
	noExtraAllocs bool
	// unit is the time unit compared: "ns/op", or "ns/fncall".
	unit string
	// paired names the BenchmarkPaired case that times the same two
	// alternately; when there is one, its ratio decides the target.
	paired string
}

var comparisons = []comparison{
	{"guest span pair vs native Go span", "Span/guest", "Span/native", 1.25, false, "ns/op", "Paired/span-guest-vs-native"},
	{"guest span pair vs native Go span (adapter run)", "SpanAdapter/guest", "SpanAdapter/native", 1.25, false, "ns/op", ""},
	{"guest span pair vs observe-sdk adapter", "SpanAdapter/guest", "SpanAdapter/observe-sdk", 1.0 / 3, false, "ns/op", ""},
	{"observe-sdk adapter vs native Go span (info)", "SpanAdapter/observe-sdk", "SpanAdapter/native", 0, false, "ns/op", ""},
	{"guest log line vs logger.Info().Msg", "Log/guest", "Log/native", 1.25, false, "ns/op", ""},
	{"guest log line, untraced, vs logger.Info().Msg", "Log/guest-untraced", "Log/native", 1.25, false, "ns/op", ""},
	{"guest log line vs its work done in Go (info)", "Log/guest", "Log/native-equivalent", 0, false, "ns/op", ""},
	{"guest counter line vs counter.Add", "Counter/guest", "Counter/native", 1.25, false, "ns/op", ""},
	{"guest histogram line vs histogram.Record", "Histogram/guest", "Histogram/native", 1.25, false, "ns/op", ""},
	{"sampled-out guest span pair vs host-call floor", "Span/sampled-out", "Span/floor", 2, true, "ns/op", "Paired/span-sampled-out-vs-floor"},
	{"disabled-level guest log vs host-call floor", "LogDisabled/guest", "LogDisabled/floor", 2, true, "ns/op", "Paired/log-disabled-vs-floor"},
	{"sampled-out guest span pair vs floor with empty listeners (info)", "Span/sampled-out", "Span/floor-listeners", 0, false, "ns/op", ""},
	{"host-call floor with empty listeners vs floor (info)", "Span/floor-listeners", "Span/floor", 0, false, "ns/op", "Paired/span-floor-listeners-vs-floor"},
	{"guest span pair, no-op provider, vs floor", "Span/noop-provider", "Span/floor", 2, true, "ns/op", "Paired/span-noop-vs-floor"},
	{"guest counter, no-op provider, vs floor", "Counter/noop-provider", "Counter/floor", 2, true, "ns/op", "Paired/counter-noop-vs-floor"},
	{"plugin call (10 API calls), no-op providers, vs unobserved", "Call/request/observed-noop", "Call/request/unobserved", 1.1, true, "ns/op", "Paired/call-request-noop-vs-unobserved"},
	{"plugin call (10 API calls), empty listeners, vs unobserved (info)", "Call/request/listeners-only", "Call/request/unobserved", 0, false, "ns/op", "Paired/call-request-listeners-vs-unobserved"},
	{"plugin call (cguest run), no-op providers, vs unobserved", "Call/cguest-run/observed-noop", "Call/cguest-run/unobserved", 1.1, true, "ns/op", "Paired/call-cguest-run-noop-vs-unobserved"},
	{"plugin call (cguest run), empty listeners, vs unobserved (info)", "Call/cguest-run/listeners-only", "Call/cguest-run/unobserved", 0, false, "ns/op", ""},
	{"instrumented call, min 20µs (filtered), vs unobserved", "Instrumented/min-20us", "Instrumented/unobserved", 0, false, "ns/fncall", ""},
	{"instrumented call, min 0 (all kept), vs unobserved", "Instrumented/min-0", "Instrumented/unobserved", 0, false, "ns/fncall", ""},
	{"plain call, observer without function spans, vs unobserved", "FunctionSpans/observer-only", "FunctionSpans/unobserved", 0, false, "ns/fncall", ""},
	{"plain call, WithFunctionSpans(\"*\") min 20µs, vs unobserved", "FunctionSpans/all-min-20us", "FunctionSpans/unobserved", 0, false, "ns/fncall", ""},
	{"plain call, WithFunctionSpans(\"*\") min 0, vs unobserved", "FunctionSpans/all-min-0", "FunctionSpans/unobserved", 0, false, "ns/fncall", ""},
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
		name = strings.NewReplacer("impl=", "", "guest=", "", "case=", "").Replace(name)
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

	fmt.Println("| comparison | case | baseline | ratio | paired ratio | Δ per op | allocs/op (case / baseline) | target | met |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|---|")
	for _, c := range comparisons {
		t, ok1 := res.get(c.target, c.unit)
		base, ok2 := res.get(c.baseline, c.unit)
		if !ok1 || !ok2 {
			continue
		}
		ta, _ := res.get(c.target, "allocs/op")
		ba, _ := res.get(c.baseline, "allocs/op")
		ratio := t / base
		pairedCol := "—"
		if c.paired != "" {
			if pr, ok := res.get(c.paired, "case/base"); ok {
				ratio = pr
				pairedCol = fmt.Sprintf("**%.2f×**", pr)
			}
		}
		unit := ""
		if c.unit != "ns/op" {
			unit = " (" + c.unit + ")"
		}
		target, met := "—", "—"
		if c.maxRatio > 0 {
			if c.maxRatio < 1 {
				target = fmt.Sprintf("≤ 1/%.0f×", 1/c.maxRatio)
			} else {
				target = fmt.Sprintf("≤ %.3g×", c.maxRatio)
			}
			ok := ratio <= c.maxRatio
			if c.noExtraAllocs {
				target += ", no extra allocs"
				ok = ok && ta <= ba
			}
			met = "yes"
			if !ok {
				met = "**no**"
			}
		}
		fmt.Printf("| %s%s | %s | %s | %.2f× | %s | %+.0f ns | %.0f / %.0f | %s | %s |\n",
			c.what, unit, fmtNs(t), fmtNs(base), t/base, pairedCol, t-base, ta, ba, target, met)
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
