package main

import (
	"runtime"
	"unsafe"
)

// The manual Observe API, current namespace: strings are (pointer, length)
// in this module's linear memory, with no trailing NUL.

//go:wasmimport dylibso:observe/api metric
func observeMetric(format uint32, ptr uint32, length uint32)

//go:wasmimport dylibso:observe/api log
func observeLog(level uint32, ptr uint32, length uint32)

//go:wasmimport dylibso:observe/api span-enter
func observeSpanEnter(ptr uint32, length uint32)

//go:wasmimport dylibso:observe/api span-exit
func observeSpanExit()

//go:wasmimport dylibso:observe/api span-tags
func observeSpanTags(ptr uint32, length uint32)

// Log levels and the metric format of the Observe API.
const (
	levelError = 1
	levelWarn  = 2
	levelInfo  = 3
	levelDebug = 4

	formatStatsd = 1
)

func ptrLen(s string) (uint32, uint32) {
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

// span opens a span named name, tagged with tags ("k:v,k2:v2", may be
// empty), and returns the function that closes it.
func span(name, tags string) (end func()) {
	p, n := ptrLen(name)
	observeSpanEnter(p, n)
	runtime.KeepAlive(name)
	if tags != "" {
		p, n = ptrLen(tags)
		observeSpanTags(p, n)
		runtime.KeepAlive(tags)
	}
	return observeSpanExit
}

// log sends msg at level; it lands on the innermost open span.
func log(level uint32, msg string) {
	p, n := ptrLen(msg)
	observeLog(level, p, n)
	runtime.KeepAlive(msg)
}

// metric sends one or more statsd lines.
func metric(lines string) {
	p, n := ptrLen(lines)
	observeMetric(formatStatsd, p, n)
	runtime.KeepAlive(lines)
}
