// Package wasmdefs finds where wazero keeps the function definitions of a
// decoded module: the address that names one decode of a module, from a
// definition wazero hands a listener or from a module instance, and the
// definitions at that address. wazero's public API has neither; this reads
// its types through reflection, defensively, and says so when they are not
// the shape it knows (ok false). The tests of the root package assert real
// names and routing, so a wazero change that breaks this is caught.
package wasmdefs

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
)

// defLayout is how wazero lays out function definitions, learned from the
// first one seen: the element type of the array they live in.
var defLayout atomic.Pointer[reflect.Type]

// Array returns the address of the array def is an element of,
// and the element type. ok is false when def is not a wazero function
// definition of the shape this relies on (wazero's FunctionDefinition(i)
// returns &FunctionDefinitionSection[i]).
func Array(def api.FunctionDefinition) (base unsafe.Pointer, elem reflect.Type, ok bool) {
	v := reflect.ValueOf(def)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, nil, false
	}
	t := v.Type().Elem()
	if p := defLayout.Load(); p != nil && *p == t {
		elem = t
	} else {
		if t.Kind() != reflect.Struct || t.Name() != "FunctionDefinition" ||
			t.PkgPath() != "github.com/tetratelabs/wazero/internal/wasm" {
			return nil, nil, false
		}
		stored := t // a variable of its own: storing &t would move t to the heap on every call
		defLayout.Store(&stored)
		elem = t
	}
	return unsafe.Add(v.UnsafePointer(), -int(uintptr(def.Index())*elem.Size())), elem, true
}

// At returns the definition of function i of the array at base.
func At(base unsafe.Pointer, elem reflect.Type, i uint32) api.FunctionDefinition {
	def, _ := reflect.NewAt(elem, unsafe.Add(base, uintptr(i)*elem.Size())).Interface().(api.FunctionDefinition)
	return def
}

// instanceFields are the field indexes of Source in wazero's
// ModuleInstance and of FunctionDefinitionSection in its Module, learned
// from the first instance seen; nil when the layout is not the expected one.
var instanceFields atomic.Pointer[instanceLayout]

type instanceLayout struct {
	typ          reflect.Type
	source, defs []int
}

// OfInstance returns the address of the function definitions of
// the decoded module instance was made from.
func OfInstance(instance api.Module) (base unsafe.Pointer, ok bool) {
	v := reflect.ValueOf(instance)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	f := instanceFields.Load()
	if f == nil || f.typ != v.Type() {
		if f = layoutOf(v.Type()); f == nil {
			return nil, false
		}
		instanceFields.Store(f)
	}
	src := v.Elem().FieldByIndex(f.source)
	if src.IsNil() {
		return nil, false
	}
	defs := src.Elem().FieldByIndex(f.defs)
	if defs.Len() == 0 {
		return nil, false
	}
	return defs.UnsafePointer(), true
}

// layoutOf finds the fields OfInstance reads in t, a pointer to
// wazero's ModuleInstance, or returns nil.
func layoutOf(t reflect.Type) *instanceLayout {
	if t.Elem().Kind() != reflect.Struct || t.Elem().Name() != "ModuleInstance" ||
		t.Elem().PkgPath() != "github.com/tetratelabs/wazero/internal/wasm" {
		return nil
	}
	src, ok := t.Elem().FieldByName("Source")
	if !ok || src.Type.Kind() != reflect.Pointer || src.Type.Elem().Kind() != reflect.Struct {
		return nil
	}
	defs, ok := src.Type.Elem().FieldByName("FunctionDefinitionSection")
	if !ok || defs.Type.Kind() != reflect.Slice || defs.Type.Elem().Name() != "FunctionDefinition" {
		return nil
	}
	return &instanceLayout{t, src.Index, defs.Index}
}

// ModuleID returns the ID wazero gives the decoded module instance was made
// from: a SHA-256 of its bytes and of how it was compiled.
func ModuleID(instance api.Module) (id [32]byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	v := reflect.ValueOf(instance)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return id, false
	}
	src := v.Elem().FieldByName("Source")
	if !src.IsValid() || src.Kind() != reflect.Pointer || src.IsNil() {
		return id, false
	}
	f := src.Elem().FieldByName("ID")
	if !f.IsValid() || f.Kind() != reflect.Array || f.Len() != len(id) || f.Type().Elem().Kind() != reflect.Uint8 {
		return id, false
	}
	reflect.Copy(reflect.ValueOf(id[:]), f)
	return id, true
}
