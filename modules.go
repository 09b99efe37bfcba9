package observe

import (
	"encoding/hex"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/extism-observe/observe/internal/conv"
	"github.com/extism-observe/observe/internal/names"
	"github.com/extism-observe/observe/internal/wasmdefs"
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
	// plugin is the plugin's name: PluginName, else the module's name
	// section's, else "" until the first call names it from the module's
	// contents (pluginName).
	plugin    string
	namedOnce sync.Once
	// calls caches the attribute sets of the call metrics, by export and
	// outcome: made once, as the cardinality is bounded by the module.
	calls   sync.Map // callKey -> []metric.RecordOption
	options atomic.Pointer[measurementOptions]

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

// learn records def, a function of a guest module being compiled with o's
// Context, and returns its module.
func (o *Observer) learn(def api.FunctionDefinition, name string) *module {
	base, elem, ok := wasmdefs.Array(def)
	if !ok {
		return nil
	}
	key := uintptr(base)
	m, _ := modules.Load(key)
	mod, _ := m.(*module)
	if mod == nil || mod.obs != o {
		mod = o.newModule(def, base, elem)
		mod.plugin = name
		if name == "" {
			mod.plugin = names.Display(def.ModuleName())
		}
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
		d := wasmdefs.At(base, elem, i)
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
// (which may be nil) only when the instance cannot say.
func moduleOf(instance api.Module, def api.FunctionDefinition) *module {
	base, ok := wasmdefs.OfInstance(instance)
	if !ok {
		if base, _, ok = wasmdefs.Array(def); !ok {
			return nil
		}
	}
	m, _ := modules.Load(uintptr(base))
	mod, _ := m.(*module)
	return mod
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

// pluginName returns the plugin's name, naming it on the first call of an
// unnamed module from instance's contents.
func (m *module) pluginName(instance api.Module) string {
	m.namedOnce.Do(func() {
		if m.plugin != "" {
			return
		}
		if id, ok := wasmdefs.ModuleID(instance); ok {
			m.plugin = "wasm-" + hex.EncodeToString(id[:6])
		} else {
			m.plugin = "wasm"
		}
	})
	return m.plugin
}

// callKey is what an extism.call.duration measurement is told apart by,
// with the plugin's name.
type callKey struct{ function, errorType string }

// callOptions returns the options of an extism.call.duration measurement:
// its attributes, made once per export and outcome. The slices are
// shared: passing a new one to the variadic Record would allocate.
func (m *module) callOptions(function, errorType string) []metric.RecordOption {
	k := callKey{function, errorType}
	if v, ok := m.calls.Load(k); ok {
		return v.([]metric.RecordOption)
	}
	kvs := []attribute.KeyValue{conv.Plugin.String(m.plugin), conv.Function.String(function)}
	if errorType != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(errorType))
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	v, _ := m.calls.LoadOrStore(k, opts)
	return v.([]metric.RecordOption)
}

// measurementOptions hold the plugin's name as an attribute, for the
// metrics that have no other.
type measurementOptions struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func (m *module) pluginOptions() *measurementOptions {
	if p := m.options.Load(); p != nil {
		return p
	}
	set := metric.WithAttributeSet(attribute.NewSet(conv.Plugin.String(m.plugin)))
	p := &measurementOptions{add: []metric.AddOption{set}, record: []metric.RecordOption{set}}
	m.options.CompareAndSwap(nil, p)
	return m.options.Load()
}
