// interp: runs a program of Observe API calls taken from the Extism input,
// so that a fuzzer can drive the whole host-call layer with any sequence
// of calls and arguments against a real guest memory.
//
// The input is copied to the guest's memory at a fixed address (DATA), so
// that pointers can point at bytes the fuzzer chose. Then it is read as a
// program: one op byte, then the op's arguments, little-endian. A pointer
// argument with its top bit clear is an offset into the copied input
// (modulo its length + 1); with it set, the raw value (top bit cleared) is
// passed on as it is. A length with its top bit clear is taken modulo 512;
// with it set, raw. The program stops at the end of the input.
//
//	op % 12: 0 span-enter(ptr, len)   1 span-exit        2 span-tags(ptr, len)
//	         3 log(level:i8, ptr, len)  4 metric(format:i8, ptr, len)
//	         5 enter(idx:u16)           6 exit(idx:u16)    7 memory-grow(pages:u8)
//	         8 legacy span_enter(ptr64, len)  9 legacy span_exit
//	        10 legacy log(level:i8, ptr64, len) 11 legacy metric(format:i8, ptr64, len)
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned char u8;

#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))

IMPORT("extism:host/env", "input_length") u64 input_length(void);
IMPORT("extism:host/env", "input_load_u8") u32 input_load_u8(u64);

IMPORT("dylibso:observe/api", "span-enter") void span_enter(u32, u32);
IMPORT("dylibso:observe/api", "span-exit") void span_exit(void);
IMPORT("dylibso:observe/api", "span-tags") void span_tags(u32, u32);
IMPORT("dylibso:observe/api", "log") void obs_log(int, u32, u32);
IMPORT("dylibso:observe/api", "metric") void obs_metric(int, u32, u32);
IMPORT("dylibso:observe/instrument", "enter") void fn_enter(u32);
IMPORT("dylibso:observe/instrument", "exit") void fn_exit(u32);
IMPORT("dylibso:observe/instrument", "memory-grow") void memory_grow(u32);
IMPORT("dylibso_observe", "span_enter") void legacy_span_enter(u64, u32);
IMPORT("dylibso_observe", "span_exit") void legacy_span_exit(void);
IMPORT("dylibso_observe", "log") void legacy_log(int, u64, u32);
IMPORT("dylibso_observe", "metric") void legacy_metric(int, u64, u32);

#define DATA 131072 // page 2: past the data and the 64 KiB stack that lld lays out first
#define MAXIN 65536

static u8 *const data = (u8 *)DATA;
static u32 n, pc;

static int more(u32 k) { return pc + k <= n; }
static u32 u8at(void) { return data[pc++]; }
static u32 u16at(void) { u32 v = data[pc] | data[pc + 1] << 8; pc += 2; return v; }
static u32 u32at(void) {
	u32 v = data[pc] | data[pc + 1] << 8 | data[pc + 2] << 16 | (u32)data[pc + 3] << 24;
	pc += 4;
	return v;
}
static u32 ptr(u32 v) { return v & 0x80000000u ? v & 0x7fffffffu : DATA + v % (n + 1); }
static u32 len(u32 v) { return v & 0x80000000u ? v & 0x7fffffffu : v % 512; }

__attribute__((export_name("run"))) int run(void) {
	u64 in = input_length();
	n = in > MAXIN ? MAXIN : (u32)in;
	for (u32 i = 0; i < n; i++) data[i] = (u8)input_load_u8(i);
	pc = 0;
	while (more(1)) {
		u32 op = u8at() % 12;
		switch (op) {
		case 0: if (!more(8)) return 0; { u32 p = ptr(u32at()); span_enter(p, len(u32at())); } break;
		case 1: span_exit(); break;
		case 2: if (!more(8)) return 0; { u32 p = ptr(u32at()); span_tags(p, len(u32at())); } break;
		case 3: if (!more(9)) return 0; { int l = (signed char)u8at(); u32 p = ptr(u32at()); obs_log(l, p, len(u32at())); } break;
		case 4: if (!more(9)) return 0; { int f = (signed char)u8at(); u32 p = ptr(u32at()); obs_metric(f, p, len(u32at())); } break;
		case 5: if (!more(2)) return 0; fn_enter(u16at()); break;
		case 6: if (!more(2)) return 0; fn_exit(u16at()); break;
		case 7: if (!more(1)) return 0; memory_grow(u8at()); break;
		case 8: if (!more(8)) return 0; { u64 p = ptr(u32at()); if (p & 0x40000000u) p |= (u64)1 << 32; legacy_span_enter(p, len(u32at())); } break;
		case 9: legacy_span_exit(); break;
		case 10: if (!more(9)) return 0; { int l = (signed char)u8at(); u64 p = ptr(u32at()); legacy_log(l, p, len(u32at())); } break;
		case 11: if (!more(9)) return 0; { int f = (signed char)u8at(); u64 p = ptr(u32at()); legacy_metric(f, p, len(u32at())); } break;
		}
	}
	return 0;
}
