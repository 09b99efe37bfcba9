package observe

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
)

// guestBytes returns the n bytes at ptr in the memory of mod, the module
// that called the host function, cut to the call's MaxStringBytes. The
// bytes alias guest memory: they are valid only until the guest runs
// again, so anything kept must be copied. ok is false, and the reason
// reported, when the range is not inside the memory.
func (c *call) guestBytes(mod api.Module, what string, ptr uint64, n uint32) (b []byte, truncated, ok bool) {
	if ptr > math.MaxUint32 {
		if e := c.drop(dropBadMemory); e != nil {
			e.Str("detail", rangeDetail(ptr, n, 0)).Msg("observe: guest passed a pointer above 4 GiB; " + what + " dropped")
		}
		return nil, false, false
	}
	mem := mod.Memory()
	if mem == nil {
		if e := c.drop(dropBadMemory); e != nil {
			e.Msg("observe: guest module has no memory to read " + what + " from; dropped")
		}
		return nil, false, false
	}
	// Read checks the range and returns a view of the memory, not a copy.
	b, ok = mem.Read(uint32(ptr), n)
	if !ok {
		c.outOfRange(what, ptr, n, mem.Size())
		return nil, false, false
	}
	if limit := c.obs.limits.MaxStringBytes; int64(n) > int64(limit) {
		b = b[:limit]
		truncated = true
		if e := c.drop(dropTruncated); e != nil {
			e.Str("detail", what).Msg("observe: guest string longer than Limits.MaxStringBytes truncated")
		}
	}
	return b, truncated, true
}

func (c *call) outOfRange(what string, ptr uint64, n, size uint32) {
	if e := c.drop(dropBadMemory); e != nil {
		e.Str("detail", rangeDetail(ptr, n, size)).Msg("observe: guest passed a string outside its memory; " + what + " dropped")
	}
}

func rangeDetail(ptr uint64, n, size uint32) string {
	return "ptr=" + strconv.FormatUint(ptr, 10) + " len=" + strconv.FormatUint(uint64(n), 10) +
		" memory_size=" + strconv.FormatUint(uint64(size), 10)
}

// ownedString copies guest bytes into a string the host may keep, with
// invalid UTF-8 replaced: OTLP rejects a batch holding invalid UTF-8.
func ownedString(b []byte) string {
	return owned(viewString(b))
}

// owned is ownedString for a string that may alias guest memory.
func owned(s string) string {
	if utf8.ValidString(s) {
		return strings.Clone(s)
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// viewString returns guest bytes as a string without copying, for use that
// ends before the guest runs again (parsing, map lookups, writing a log
// line).
func viewString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
