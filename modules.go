package observe

import (
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/api"

	"github.com/extism-observe/observe/internal/names"
)

// module is what an Observer learns of one guest module while wazero
// compiles it: which Observer compiled it, and the names of its functions.
//
// Why learn it then: with a shared wazero CompilationCache, wazero compiles
// the bytes of a module once and gives every later plugin of the same bytes
// the function listeners of that first compile, whichever Observer made
// them. So the listeners hold no state; they find the module at run time
// from the function definition wazero hands them. wazero decodes the module
// afresh for every CompileModule, cache hit or not, consults the listener
// factory in the ctx for each of its functions even on a hit, and gives the
// listeners of every instance the definitions of the decode the instance
// was made from. The definitions of one decode are the elements of one
// array, so the array's address names the decode.
//
// A module holds no reference to wazero's decoded module: it is found
// through the registry, keyed by address, and leaves it when the decoded
// module is collected. Nothing of a closed plugin outlives it.
type module struct {
	obs *Observer

	// names is filled while the module compiles, one function at a time
	// on the compiling goroutine, and only read after: instances exist
	// only once the compile has returned.
	names []rawName
	// shown holds each function's span name, demangled on first use.
	shown atomic.Pointer[[]atomic.Pointer[string]]
}

// rawName is a function's name as the module gives it.
type rawName struct {
	name string
	// importModule is set for an imported function: name is then the
	// import's name in that module.
	importModule string
	// spanName is the span name WithFunctionSpans gives the function, or ""
	// when the Observer's patterns do not pick it.
	spanName string
	// observeAPI marks an import of the Observe API: instrumenting
	// compilers wrap calls to it like any other, but it is the
	// instrumentation, not the guest's work, and gets no function span.
	observeAPI bool
}

// modules maps the address of a decoded module's function definitions to
// the module. See module.
var modules sync.Map // uintptr -> *module

// defLayout is how wazero lays out function definitions, learned from the
// first one seen: the element type of the array they live in.
var defLayout atomic.Pointer[reflect.Type]

// definitionArray returns the address of the array def is an element of,
// and the element type. ok is false when def is not a wazero function
// definition of the shape this relies on (wazero's FunctionDefinition(i)
// returns &FunctionDefinitionSection[i]).
func definitionArray(def api.FunctionDefinition) (base unsafe.Pointer, elem reflect.Type, ok bool) {
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
		defLayout.Store(&t)
		elem = t
	}
	return unsafe.Add(v.UnsafePointer(), -int(uintptr(def.Index())*elem.Size())), elem, true
}

// definitionAt returns the definition of function i of the array at base.
func definitionAt(base unsafe.Pointer, elem reflect.Type, i uint32) api.FunctionDefinition {
	def, _ := reflect.NewAt(elem, unsafe.Add(base, uintptr(i)*elem.Size())).Interface().(api.FunctionDefinition)
	return def
}

// learn records def, a function of a guest module being compiled with o's
// Context, and returns its module.
func (o *Observer) learn(def api.FunctionDefinition) *module {
	base, elem, ok := definitionArray(def)
	if !ok {
		return nil
	}
	key := uintptr(base)
	m, _ := modules.Load(key)
	mod, _ := m.(*module)
	if mod == nil || mod.obs != o {
		mod = o.newModule(def, base, elem)
		modules.Store(key, mod)
		// The module leaves the registry with the decoded module. The
		// cleanup holds neither: only the address, and mod to compare.
		runtime.AddCleanup((*byte)(unsafe.Pointer(reflect.ValueOf(def).UnsafePointer())), func(m *module) {
			modules.CompareAndDelete(key, m)
		}, mod)
	}
	mod.setName(def.Index(), rawName{name: def.Name(), spanName: o.functionSpanName(def)})
	return mod
}

// newModule starts the module of def, the first local function of a module
// wazero compiles (the factory is consulted in index order, from the first
// function after the imports), with the names of its imports.
func (o *Observer) newModule(def api.FunctionDefinition, base unsafe.Pointer, elem reflect.Type) *module {
	mod := &module{obs: o}
	imports := def.Index()
	mod.names = make([]rawName, imports, imports+64)
	for i := range imports {
		d := definitionAt(base, elem, i)
		if d == nil || d.Index() != i {
			mod.names = mod.names[:0] // not the layout this relies on: no import names
			break
		}
		if im, name, isImport := d.Import(); isImport {
			mod.names[i] = rawName{name: name, importModule: im, observeAPI: observeNamespaces[im]}
		}
	}
	return mod
}

func (m *module) setName(i uint32, n rawName) {
	if int(i) >= len(m.names) {
		if int(i) >= cap(m.names) {
			grown := make([]rawName, len(m.names), 2*int(i)+1)
			copy(grown, m.names)
			m.names = grown
		}
		m.names = m.names[:i+1]
	}
	m.names[i] = n
}

// moduleOf returns the module that instance was made from, or nil when it
// was not compiled with an Observer's Context. def is a function of the
// instance whose listener runs.
//
// The instance knows its decoded module (wazero's ModuleInstance.Source,
// read through reflection), and so the address of its definitions. With
// wazero's compiler, def is one of them too; with its interpreter, def is
// of the decode that was compiled first, which a shared cache may have
// compiled for another Observer. So the instance is asked first, and def
// only when the instance cannot say.
func moduleOf(instance api.Module, def api.FunctionDefinition) *module {
	base, ok := instanceDefinitions(instance)
	if !ok {
		if base, _, ok = definitionArray(def); !ok {
			return nil
		}
	}
	m, _ := modules.Load(uintptr(base))
	mod, _ := m.(*module)
	return mod
}

// instanceFields are the field indexes of Source in wazero's
// ModuleInstance and of FunctionDefinitionSection in its Module, learned
// from the first instance seen; nil when the layout is not the expected one.
var instanceFields atomic.Pointer[instanceLayout]

type instanceLayout struct {
	typ          reflect.Type
	source, defs []int
}

// instanceDefinitions returns the address of the function definitions of
// the decoded module instance was made from.
func instanceDefinitions(instance api.Module) (base unsafe.Pointer, ok bool) {
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

// layoutOf finds the fields instanceDefinitions reads in t, a pointer to
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

// name returns the span name of function i: from the name section,
// demangled, else "module.name" for an import, else "func[i]".
func (m *module) name(i uint32) string {
	slots := m.shown.Load()
	if slots == nil {
		s := make([]atomic.Pointer[string], len(m.names))
		if !m.shown.CompareAndSwap(nil, &s) {
			slots = m.shown.Load()
		} else {
			slots = &s
		}
	}
	if int(i) >= len(*slots) {
		return names.Fallback(i)
	}
	slot := &(*slots)[i]
	if p := slot.Load(); p != nil {
		return *p
	}
	raw := m.names[i]
	name := names.Display(raw.name)
	switch {
	case raw.importModule != "":
		name = owned(raw.importModule) + "." + name
	case name == "":
		name = names.Fallback(i)
	}
	slot.Store(&name)
	return name
}

// isObserveAPI reports whether function i is an import of the Observe API.
func (m *module) isObserveAPI(i uint32) bool {
	return int(i) < len(m.names) && m.names[i].observeAPI
}

// spanName returns the WithFunctionSpans span name of function i, or "".
func (m *module) spanName(i uint32) string {
	if int(i) < len(m.names) {
		return m.names[i].spanName
	}
	return ""
}
