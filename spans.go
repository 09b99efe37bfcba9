package observe

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/conv"
	"github.com/extism-observe/observe/internal/names"
	"github.com/extism-observe/observe/internal/tags"
)

// What the guest's Observe API calls do to the call's spans: the guest's
// strings are read here, and the span stack (stack.go) does the rest.

const wasmPageSize = 64 << 10

// unnamedSpan names a guest span the guest gave an empty name.
const unnamedSpan = "(unnamed)"

// live returns the ctx and span of the innermost live span of the call.
func (c *call) live() (context.Context, trace.Span) { return c.spans.live() }

// spanEnter opens a manual guest span, child of the innermost open span.
func (c *call) spanEnter(mod api.Module, ptr uint64, n uint32) {
	if !c.recording {
		c.spans.enterPlaceholder(true)
		return
	}
	b, truncated, ok := c.guestBytes(mod, "span name", ptr, n)
	if !ok {
		// The guest's span-exit still follows, and spans may open inside:
		// they go to the span below.
		c.spans.enterPlaceholder(false)
		return
	}
	name := c.intern(viewString(b))
	if name == "" {
		name = unnamedSpan
	}
	c.spans.enter(name, truncated)
}

// spanExit closes the innermost open manual span.
func (c *call) spanExit() { c.spans.exit() }

// functionEnter opens the span of a call of wasm function fn.
func (c *call) functionEnter(fn uint32, name string) {
	if c.recording {
		c.spans.enterFunction(fn, name)
	}
}

// functionExit closes the span of the innermost open call of function fn;
// see spanStack.exitFunction.
func (c *call) functionExit(fn uint32, err error) {
	if c.recording {
		c.spans.exitFunction(fn, err)
	}
}

// functionName names function fn of the module the call is in.
func (c *call) functionName(fn uint32) string {
	if c.info == nil {
		return names.Fallback(fn)
	}
	return c.info.name(fn)
}

// observeAPI reports whether function fn of the module the call is in is
// an import of the Observe API, whose calls are no function spans.
func (c *call) observeAPI(fn uint32) bool {
	return c.info != nil && c.info.isObserveAPI(fn)
}

// memoryGrow records that the guest grows its memory by pages.
func (c *call) memoryGrow(pages uint32) {
	if c.recording {
		c.spans.memoryGrow(pages)
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
	ts := tags.Scanner{S: viewString(b)}
	for {
		key, value, hasValue, ok := ts.Next()
		if !ok {
			return
		}
		if c.tags >= c.obs.limits.MaxTagsPerCall {
			c.report(dropTagLimit, "observe: guest span tags beyond Limits.MaxTagsPerCall in one call dropped")
			continue
		}
		c.tags++
		k := attribute.Key(c.guestKey(key))
		if hasValue {
			c.spans.setAttributes(k.String(owned(value)))
		} else {
			c.spans.setAttributes(k.Bool(true))
		}
	}
}

// guestKey returns the attribute key for a tag key the guest wrote (which
// may alias guest memory), owned.
func (c *call) guestKey(key string) string {
	if c.obs.untrusted || strings.HasPrefix(key, "extism.") || strings.HasPrefix(key, "observe.") ||
		strings.HasPrefix(key, "wasm.") {
		return conv.GuestPrefix + owned(key)
	}
	return c.intern(key)
}

// maxInterned bounds the strings a call object remembers.
const maxInterned = 1024

// intern returns a guest string (which may alias guest memory) as an owned,
// valid UTF-8 string, reusing the string made the last time the same bytes
// came: span names and tag keys repeat call after call, and this saves
// copying them. The table lives with the pooled call object, so it
// outlasts the call. (A string whose invalid UTF-8 was replaced is stored
// under its replacement, so the guest's bytes miss it: harmless.)
func (c *call) intern(guest string) string {
	if s, ok := c.interned[guest]; ok {
		return s
	}
	s := owned(guest)
	if c.interned == nil {
		c.interned = make(map[string]string)
	} else if len(c.interned) >= maxInterned {
		clear(c.interned)
	}
	c.interned[s] = s
	return s
}
