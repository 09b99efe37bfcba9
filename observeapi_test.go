package observe

import (
	"strconv"
	"testing"
	"unsafe"
)

// intern hands out owned strings, the same one for the same bytes, from
// its last string, from its table, or new; never a view of the guest's
// memory, which the guest may write over.
func TestIntern(t *testing.T) {
	var c call
	guest := []byte("handle_request")
	first := c.intern(viewString(guest))
	if unsafe.StringData(first) == &guest[0] {
		t.Fatal("intern returned a view of guest memory")
	}
	guest[0] = 'X' // the guest writes over its memory
	if first != "handle_request" {
		t.Fatalf("interned %q changed with guest memory", first)
	}
	guest[0] = 'h'
	same := func(how string) {
		t.Helper()
		got := c.intern(viewString(guest))
		if got != "handle_request" || unsafe.StringData(got) != unsafe.StringData(first) {
			t.Errorf("%s: intern = %q at %p, want the first string, at %p", how, got, unsafe.StringData(got), unsafe.StringData(first))
		}
	}
	same("the last string")
	if got := c.intern("other"); got != "other" {
		t.Errorf("intern(other) = %q", got)
	}
	same("from the table")
	if got := c.intern("\xffx"); got != "\uFFFDx" {
		t.Errorf("intern of invalid UTF-8 = %q, want it replaced", got)
	}
	if got := c.intern("\xffx"); got != "\uFFFDx" {
		t.Errorf("intern of invalid UTF-8 again = %q", got)
	}
	for i := range maxInterned + 10 {
		if s := strconv.Itoa(i); c.intern(s) != s {
			t.Fatalf("intern(%q) = %q", s, c.intern(s))
		}
	}
	if len(c.interned) > maxInterned {
		t.Errorf("the table holds %d strings, more than %d", len(c.interned), maxInterned)
	}
	if got := c.intern(viewString(guest)); got != "handle_request" || unsafe.StringData(got) == &guest[0] {
		t.Errorf("after the table filled: intern = %q (a view: %v)", got, unsafe.StringData(got) == &guest[0])
	}
}
