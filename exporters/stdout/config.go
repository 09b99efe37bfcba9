package stdout

import (
	"io"
	"os"
)

// config is the resolved configuration of an exporter.
type config struct {
	w       io.Writer
	color   *bool // nil: decided from w and the environment
	timings bool
}

func newConfig(opts []Option) config {
	c := config{w: os.Stdout, timings: true}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// useColor reports whether to write ANSI colour: as forced by [WithColor],
// else when the writer is a terminal and neither NO_COLOR nor TERM=dumb
// asks for plain text.
func (c config) useColor() bool {
	if c.color != nil {
		return *c.color
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := c.w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Option configures an exporter made by [NewSpanExporter] or
// [NewMetricExporter].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithWriter sets where the exporter writes. Without it, os.Stdout is used.
// What one call to the exporter prints is written with a single Write, so
// that lines from concurrent writers do not mix within it. A nil writer is
// ignored.
func WithWriter(w io.Writer) Option {
	return optionFunc(func(c *config) {
		if w != nil {
			c.w = w
		}
	})
}

// WithColor forces ANSI colour on or off. Without it, colour is used only
// when the writer is an *os.File that is a terminal and the NO_COLOR
// environment variable is unset or empty (see https://no-color.org).
func WithColor(on bool) Option {
	return optionFunc(func(c *config) {
		c.color = &on
	})
}

// WithoutTimings leaves span durations out of the output, so that the same
// spans always print the same text, as tests and runnable examples need.
// Metric output has no timings and is unaffected.
func WithoutTimings() Option {
	return optionFunc(func(c *config) {
		c.timings = false
	})
}
