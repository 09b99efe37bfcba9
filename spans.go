package observe

import (
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
)

// AttrTruncated marks a guest span whose name was cut to
// Limits.MaxStringBytes.
const AttrTruncated = attribute.Key("observe.truncated")

// spanEnter opens a guest span, child of the innermost open span.
func (c *call) spanEnter(mod api.Module, ptr uint64, n uint32) {
	// Once one span-enter is dropped, every later one is too until its
	// span-exit, so that exits pair with the enters they belong to.
	if c.skipped > 0 {
		c.skipped++
		return
	}
	if len(c.stack) >= c.obs.limits.MaxSpanDepth {
		c.skipped++
		c.report(dropSpanDepth, "observe: guest spans nested deeper than Limits.MaxSpanDepth dropped", "")
		return
	}
	if c.started >= c.obs.limits.MaxSpansPerCall {
		c.skipped++
		c.report(dropSpanLimit, "observe: guest spans beyond Limits.MaxSpansPerCall in one call dropped", "")
		return
	}
	if !c.recording {
		c.started++
		c.stack = append(c.stack, frame{ctx: c.spanCtx, span: c.span, placeholder: true})
		return
	}
	b, truncated, ok := c.guestBytes(mod, "span name", ptr, n)
	if !ok {
		// The guest's span-exit still follows: let it close nothing.
		c.skipped++
		return
	}
	c.started++
	parent, _ := c.top()
	ctx, span := c.tracer.Start(parent, ownedString(b))
	if truncated {
		span.SetAttributes(AttrTruncated.Bool(true))
	}
	c.stack = append(c.stack, frame{ctx: ctx, span: span})
}

// spanExit closes the innermost open guest span.
func (c *call) spanExit() {
	if c.skipped > 0 {
		c.skipped--
		return
	}
	n := len(c.stack)
	if n == 0 {
		c.report(dropUnbalancedExit, "observe: guest called span-exit with no open span; ignored", "")
		return
	}
	f := c.stack[n-1]
	c.stack[n-1] = frame{}
	c.stack = c.stack[:n-1]
	if !f.placeholder {
		f.span.End()
	}
}

// spanTags sets tags on the innermost open span: "k:v,k2:v2", each split
// at its first ':', a tag with no ':' a boolean true.
func (c *call) spanTags(mod api.Module, ptr uint64, n uint32) {
	if !c.recording {
		return
	}
	b, _, ok := c.guestBytes(mod, "span tags", ptr, n)
	if !ok {
		return
	}
	_, span := c.top()
	ts := tagScanner{s: viewString(b)}
	for {
		key, value, hasValue, ok := ts.next()
		if !ok {
			return
		}
		if c.tags >= c.obs.limits.MaxTagsPerCall {
			c.report(dropTagLimit, "observe: guest span tags beyond Limits.MaxTagsPerCall in one call dropped", "")
			continue
		}
		c.tags++
		if hasValue {
			span.SetAttributes(attribute.String(owned(key), owned(value)))
		} else {
			span.SetAttributes(attribute.Bool(owned(key), true))
		}
	}
}
