package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

// hinted is an error with a hint, printed on a line of its own, that says
// what the user can do about it.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// hintOf returns the hint of err, or "".
func hintOf(err error) string {
	var h hinted
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// wazero's words for an import that instantiation could not resolve.
var (
	missingModule   = regexp.MustCompile(`module\[([^\]]+)\] not instantiated`)
	missingFunction = regexp.MustCompile(`"([^"]+)" is not exported in module "([^"]+)"`)
)

// importHint says, when the plugin could not be instantiated because one
// of its imports is provided by nobody, which imports those are and what
// provides them: another module (-link), or the app the plugin was written
// for. "" for any other error.
func importHint(err error, mods []module, funcs []extism.HostFunction, links linkFlag) string {
	msg := err.Error()
	var ns, fn string
	if m := missingModule.FindStringSubmatch(msg); m != nil {
		ns = m[1]
	} else if m := missingFunction.FindStringSubmatch(msg); m != nil {
		fn, ns = m[1], m[2]
	} else {
		return ""
	}
	missing, importers := missingImports(ns, fn, mods, funcs)
	what := strings.Join(missing, ", ")
	if len(importers) > 0 && !slices.Equal(importers, []string{"main"}) {
		what += " (imported by " + strings.Join(importers, ", ") + ")"
	}
	linked := slices.ContainsFunc(links, func(l link) bool { return l.name == ns })
	switch {
	case linked:
		return fmt.Sprintf("the plugin imports %s, which the module linked as %s does not export: link the module that does", what, ns)
	case ns == "extism:host/env":
		return fmt.Sprintf("the plugin imports %s, which this Extism SDK (go-sdk v1.7.1) does not have: the plugin was built with a newer PDK", what)
	case ns == "extism:host/user":
		return fmt.Sprintf("the plugin imports %s: host functions of the application it was written for, which extism-observe does not have "+
			"(it gives plugins only Extism's own functions and the Observe API): run it in that application", what)
	case strings.HasPrefix(ns, "wasi"):
		return fmt.Sprintf("the plugin imports %s, a WASI function that wazero does not provide", what)
	}
	return fmt.Sprintf("the plugin imports %s: if %s is a module, give it with -link %s=PATH.wasm; "+
		"if these are host functions of the application the plugin was written for, it needs that application",
		what, ns, ns)
}

// missingImports returns the functions that mods import from ns and that
// neither the host functions nor the other modules provide, as ns.name; fn
// is one that wazero named, if it did. It also returns the modules that
// import them.
func missingImports(ns, fn string, mods []module, funcs []extism.HostFunction) (missing, importers []string) {
	provided := map[string]bool{}
	for _, f := range funcs {
		if f.Namespace == ns {
			provided[f.Name] = true
		}
	}
	ctx := context.Background()
	// The interpreter compiles by validating only: quick, and this is the
	// error path.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled := map[string]wazero.CompiledModule{}
	for _, m := range mods {
		if cm, err := rt.CompileModule(ctx, m.data); err == nil {
			compiled[m.name] = cm
		}
	}
	if cm, ok := compiled[ns]; ok {
		for name := range cm.ExportedFunctions() {
			provided[name] = true
		}
	}
	seen := map[string]bool{}
	for _, m := range mods {
		cm, ok := compiled[m.name]
		if !ok || m.name == ns {
			continue
		}
		imports := false
		for _, def := range cm.ImportedFunctions() {
			mod, name, _ := def.Import()
			if mod != ns || provided[name] {
				continue
			}
			imports = true
			if !seen[name] {
				seen[name] = true
				missing = append(missing, ns+"."+name)
			}
		}
		if imports {
			importers = append(importers, m.name)
		}
	}
	if fn != "" && !seen[fn] {
		missing = append([]string{ns + "." + fn}, missing...)
	}
	if len(missing) == 0 {
		missing = []string{"functions of " + ns}
	}
	return missing, importers
}

// deniedHost matches the Extism SDK's panic on a request to a host that
// the manifest does not allow.
var deniedHost = regexp.MustCompile(`HTTP request to '([^']*)' is not allowed`)

// guestHint says what to do about a failed call, when there is something
// to do: "" otherwise.
func (c *runConfig) guestHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Variable store is full"):
		return "the plugin's Extism vars outgrew their limit (default 1 MiB): raise it with -var-max BYTES"
	case strings.Contains(msg, "Vars are disabled by this host"):
		return "-var-max 0 disables Extism vars, which the plugin uses"
	case strings.Contains(msg, "http: request body too large"):
		// The SDK limits the response body with http.MaxBytesReader,
		// whose error speaks of a request.
		return "an HTTP response was larger than the plugin may read (default 50 MiB): raise it with -http-response-max BYTES"
	}
	m := deniedHost.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	host := m[1]
	if u, perr := url.Parse(m[1]); perr == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return fmt.Sprintf("the plugin may not send HTTP requests to %s: allow it with -allow-host %s", host, host)
}

// memoryHint says, for a plugin that failed to load with -memory-max,
// how much memory it needs to start.
func memoryHint(err error, pages uint) string {
	m := overLimit.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	who := "the plugin"
	if strings.Contains(err.Error(), "instantiating extism module") {
		who = "Extism's kernel (the plugin's memory comes on top)"
	}
	return fmt.Sprintf("-memory-max %d is below the %s pages that %s needs to start: give more", pages, m[1], who)
}

// overLimit matches wazero's refusal of a memory whose minimum is above
// the limit.
var overLimit = regexp.MustCompile(`min (\d+) pages \([^)]*\) over limit of`)

// oomHint says, for a call that failed under -memory-max and looks like
// the guest ran out of memory, that the limit may be why.
func oomHint(err error, pages uint) string {
	msg := strings.ToLower(err.Error())
	if pages == 0 || !(strings.Contains(msg, "oom") || strings.Contains(msg, "out of memory")) {
		return ""
	}
	return fmt.Sprintf("the plugin seems to have run out of memory: -memory-max %d pages allows it %d KiB", pages, pages*64)
}

// recoveredSuffix is what wazero adds to the message of a host function's
// panic; it tells the user nothing.
const recoveredSuffix = " (recovered by wazero)"

// splitGuestError returns the first line of a failed call's message, and
// the guest's wasm stack trace that follows it, if any.
func splitGuestError(err error) (first, stack string) {
	first, rest, _ := strings.Cut(err.Error(), "\n")
	first = strings.Replace(first, recoveredSuffix, "", 1)
	return first, strings.TrimRight(rest, "\n")
}
