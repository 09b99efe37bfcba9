// Command goguest is a standard-Go wasip1 reactor guest that exercises the
// `dylibso:observe/api` host functions. Build it with ../build.sh:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ../goguest.wasm .
package main

import (
	"runtime"
	"unsafe"
)

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

// ptrLen returns the linear-memory address and length of s (no trailing NUL).
func ptrLen(s string) (uint32, uint32) {
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func enter(s string) {
	p, n := ptrLen(s)
	observeSpanEnter(p, n)
	runtime.KeepAlive(s)
}

func exit() { observeSpanExit() }

func tags(s string) {
	p, n := ptrLen(s)
	observeSpanTags(p, n)
	runtime.KeepAlive(s)
}

func log(level uint32, s string) {
	p, n := ptrLen(s)
	observeLog(level, p, n)
	runtime.KeepAlive(s)
}

func metric(format uint32, s string) {
	p, n := ptrLen(s)
	observeMetric(format, p, n)
	runtime.KeepAlive(s)
}

//go:wasmexport run
func run() int32 {
	enter("go.handler")
	tags("lang:go,runtime:wasip1")
	log(3, "hello from go")
	enter("go.work")
	metric(1, "go.items:7|c")
	exit()
	exit()
	return 0
}

func main() {}
