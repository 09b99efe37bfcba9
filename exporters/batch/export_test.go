package batch

import "time"

// WithClock replaces the clock of the warnings, so that tests can move
// time past the warning interval without waiting.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// Waiting returns the number of OnEnd calls waiting for room (WithBlocking).
func Waiting(p *SpanProcessor) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}
