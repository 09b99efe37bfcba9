package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	extism "github.com/extism/go-sdk"
)

// module is a wasm module of the plugin, kept to say what it imports when
// the plugin cannot be instantiated.
type module struct {
	name string // "main" for the plugin's main module
	data []byte
}

// loadManifest makes the manifest of the plugin: PLUGIN.wasm with the
// -link modules before it, or the -manifest file; then the flags on top.
// It reads every module from its file itself, so that a missing or wrong
// file is named, and so that the relative paths of a manifest are taken
// from its directory (the SDK would take them from the working directory).
func (c *runConfig) loadManifest() (extism.Manifest, []module, error) {
	var m extism.Manifest
	var mods []module
	if c.manifest {
		var err error
		if m, mods, err = readManifest(c.plugin); err != nil {
			return m, nil, err
		}
	} else {
		wasm, err := readModule(c.plugin)
		if err != nil {
			return m, nil, err
		}
		m.Wasm = []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}}
		mods = []module{{name: "main", data: wasm}}
	}

	// Linked modules go first: the SDK takes the last module, or the one
	// named main, as the main module, and a -link always has a name.
	var linked []extism.Wasm
	var linkedMods []module
	for _, l := range c.links {
		for _, w := range m.Wasm {
			if wasmName(w) == l.name {
				return m, nil, fmt.Errorf("-link %s: the manifest already has a module named %s", l.name, l.name)
			}
		}
		wasm, err := readModule(l.path)
		if err != nil {
			return m, nil, fmt.Errorf("-link %s: %w", l.name, err)
		}
		linked = append(linked, extism.WasmData{Data: wasm, Name: l.name})
		linkedMods = append(linkedMods, module{name: l.name, data: wasm})
	}
	m.Wasm = append(linked, m.Wasm...)
	mods = append(linkedMods, mods...)

	m.AllowedHosts = append(m.AllowedHosts, c.allowHosts...)
	for host, guest := range c.allowPaths {
		dir := strings.TrimPrefix(host, "ro:")
		if fi, err := os.Stat(dir); err != nil {
			return m, nil, fmt.Errorf("-allow-path %s: %w", dir, err)
		} else if !fi.IsDir() {
			return m, nil, fmt.Errorf("-allow-path %s: not a directory (a path gives the plugin a directory)", dir)
		}
		if m.AllowedPaths == nil {
			m.AllowedPaths = map[string]string{}
		}
		m.AllowedPaths[host] = guest
	}
	for k, v := range c.config {
		if m.Config == nil {
			m.Config = map[string]string{}
		}
		m.Config[k] = v
	}
	if c.hasTimeout {
		// Extism counts in milliseconds; round up, so that a short
		// timeout is not none.
		m.Timeout = uint64((c.timeout + time.Millisecond - 1) / time.Millisecond)
	} else if m.Timeout > 0 {
		c.timeout = time.Duration(m.Timeout) * time.Millisecond // for the messages
	}
	if c.memoryMax > 0 || c.httpResponseMax >= 0 || c.varMax >= 0 {
		if m.Memory == nil {
			// -1: the SDK's default, as for a manifest without them.
			m.Memory = &extism.ManifestMemory{MaxHttpResponseBytes: -1, MaxVarBytes: -1}
		}
		if c.memoryMax > 0 {
			m.Memory.MaxPages = uint32(c.memoryMax)
		}
		if c.httpResponseMax >= 0 {
			m.Memory.MaxHttpResponseBytes = c.httpResponseMax
		}
		if c.varMax >= 0 {
			m.Memory.MaxVarBytes = c.varMax
		}
	}
	return m, mods, nil
}

// readManifest reads the Extism JSON manifest at path, with the modules it
// lists by path read in, and its relative paths (of modules and of
// allowed_paths) taken from its directory.
func readManifest(path string) (extism.Manifest, []module, error) {
	var m extism.Manifest
	b, err := os.ReadFile(path)
	if err != nil {
		return m, nil, fmt.Errorf("reading the manifest: %w", err)
	}
	if bytes.HasPrefix(b, wasmMagic) {
		return m, nil, fmt.Errorf("%s is a WebAssembly module, not a manifest: leave -manifest out", path)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, nil, fmt.Errorf("%s is not an Extism JSON manifest: %w", path, err)
	}
	if len(m.Wasm) == 0 {
		return m, nil, fmt.Errorf("%s: the manifest lists no wasm modules", path)
	}
	dir := filepath.Dir(path)
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var mods []module
	for i, w := range m.Wasm {
		switch w := w.(type) {
		case extism.WasmFile:
			data, err := readModule(resolve(w.Path))
			if err != nil {
				return m, nil, fmt.Errorf("%s: wasm[%d]: %w", path, i, err)
			}
			m.Wasm[i] = extism.WasmData{Data: data, Hash: w.Hash, Name: w.Name}
			mods = append(mods, module{name: w.Name, data: data})
		case extism.WasmData:
			mods = append(mods, module{name: w.Name, data: w.Data})
		}
	}
	if len(mods) > 0 && len(mods) == len(m.Wasm) {
		markMain(mods)
	}
	if len(m.AllowedPaths) > 0 {
		paths := map[string]string{}
		for host, guest := range m.AllowedPaths {
			dir, ro := strings.CutPrefix(host, "ro:")
			dir = resolve(dir)
			if ro {
				dir = "ro:" + dir
			}
			paths[dir] = guest
		}
		m.AllowedPaths = paths
	}
	return m, mods, nil
}

// markMain names the main module "main", as the SDK chooses it: the first
// module named main or without a name, else the last one.
func markMain(mods []module) {
	for i := range mods {
		if mods[i].name == "" || mods[i].name == "main" || i == len(mods)-1 {
			mods[i].name = "main"
			return
		}
	}
}

// mainModule returns the bytes of the main module among mods; nil when
// the manifest gets it from a URL.
func mainModule(mods []module) []byte {
	for _, m := range mods {
		if m.name == "main" {
			return m.data
		}
	}
	return nil
}

// wasmName is the name of a manifest's module.
func wasmName(w extism.Wasm) string {
	switch w := w.(type) {
	case extism.WasmData:
		return w.Name
	case extism.WasmFile:
		return w.Name
	case extism.WasmUrl:
		return w.Name
	}
	return ""
}
