package observe

import (
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ianlancetaylor/demangle"
	"github.com/tetratelabs/wazero/api"
)

// maxDemangled bounds the names given to the demangler: names come from
// the guest's module, and demangling work grows with them.
const maxDemangled = 1024

// maxFunctionName bounds the span name of a function.
const maxFunctionName = 4096

// displayName turns a function name from a name section into what a span
// shows: demangled (C++ Itanium, Rust legacy and v0), else as it is; valid
// UTF-8 either way, and bounded.
func displayName(name string) string {
	if name == "" {
		return ""
	}
	if len(name) <= maxDemangled {
		name = demangle.Filter(name, demangle.NoClones)
	}
	if len(name) > maxFunctionName {
		name = name[:maxFunctionName]
	}
	return owned(name)
}

// fallbackName is the stable name of a function the module does not name.
func fallbackName(index uint32) string {
	return "func[" + strconv.FormatUint(uint64(index), 10) + "]"
}

// funcNames maps the function indexes of one compiled module to span names,
// demangled on first use.
//
// Automatic instrumentation reports a function by its index in the calling
// module, whose name section is not reachable through wazero's public API
// for a running instance (and the Extism SDK does not pass the module's
// bytes on). The instance is wazero's *wasm.ModuleInstance, whose exported
// Source field is the decoded module; funcNames reads its exported
// FunctionDefinition method through reflection, read-only. Should a wazero
// release change that shape, names fall back to "func[N]" and nothing else
// changes: the tests assert real names, so such a change is caught.
type funcNames struct {
	defs  reflect.Value // the module's FunctionDefinition method, or invalid
	count uint32        // imported + defined functions
	names []atomic.Pointer[string]
}

func (f *funcNames) name(index uint32) string {
	if index >= f.count {
		return fallbackName(index)
	}
	if p := f.names[index].Load(); p != nil {
		return *p
	}
	name := f.lookup(index)
	f.names[index].Store(&name)
	return name
}

func (f *funcNames) lookup(index uint32) (name string) {
	defer func() {
		if recover() != nil {
			name = fallbackName(index)
		}
	}()
	out := f.defs.Call([]reflect.Value{reflect.ValueOf(index)})
	def, ok := out[0].Interface().(api.FunctionDefinition)
	if !ok {
		return fallbackName(index)
	}
	if n := displayName(def.Name()); n != "" {
		return n
	}
	if mod, fn, isImport := def.Import(); isImport {
		return mod + "." + fn
	}
	return fallbackName(index)
}

// nameCache holds the funcNames of recently seen modules, keyed by the
// decoded module that instances share. It is bounded: it keeps the modules
// it holds alive, so an app that loads plugins over time keeps at most
// maxCachedModules old ones.
var nameCache struct {
	sync.Mutex
	byModule map[any]*funcNames
	order    []any
}

const maxCachedModules = 16

// namesOf returns the function names of the module mod is an instance of.
func namesOf(mod api.Module) (names *funcNames) {
	src, count, ok := moduleSource(mod)
	if !ok {
		return &funcNames{}
	}
	nameCache.Lock()
	defer nameCache.Unlock()
	if f := nameCache.byModule[src.Interface()]; f != nil {
		return f
	}
	f := &funcNames{count: count, names: make([]atomic.Pointer[string], count)}
	f.defs = src.MethodByName("FunctionDefinition")
	if !f.defs.IsValid() {
		f.count = 0
	}
	if nameCache.byModule == nil {
		nameCache.byModule = make(map[any]*funcNames)
	}
	if len(nameCache.order) >= maxCachedModules {
		delete(nameCache.byModule, nameCache.order[0])
		nameCache.order = nameCache.order[1:]
	}
	key := src.Interface()
	nameCache.byModule[key] = f
	nameCache.order = append(nameCache.order, key)
	return f
}

// moduleSource finds the decoded module of an instance and its number of
// functions, defensively: any surprise means "no names".
func moduleSource(mod api.Module) (src reflect.Value, count uint32, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	v := reflect.ValueOf(mod)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return src, 0, false
	}
	src = v.Elem().FieldByName("Source")
	if !src.IsValid() || src.Kind() != reflect.Pointer || src.IsNil() || !src.CanInterface() {
		return src, 0, false
	}
	m := src.Elem()
	imports := m.FieldByName("ImportFunctionCount")
	funcs := m.FieldByName("FunctionSection")
	if !imports.IsValid() || !funcs.IsValid() || funcs.Kind() != reflect.Slice {
		return src, 0, false
	}
	return src, uint32(imports.Uint()) + uint32(funcs.Len()), true
}
