// cguest: a freestanding C guest (no libc) exercising the
// `dylibso:observe/api` host functions. Built by ../build.sh.
//
// Strings are passed as (pointer, length) without a trailing NUL.

typedef unsigned int u32;
typedef unsigned long long u64;

#define IMPORT(mod, fn) __attribute__((import_module(mod), import_name(fn)))
#define EXPORT(fn) __attribute__((export_name(fn)))

// ---- dylibso:observe/api (i32 pointers) ----
IMPORT("dylibso:observe/api", "metric")
void observe_metric(u32 format, const char *ptr, u32 len);
IMPORT("dylibso:observe/api", "log")
void observe_log(u32 level, const char *ptr, u32 len);
IMPORT("dylibso:observe/api", "span-enter")
void observe_span_enter(const char *ptr, u32 len);
IMPORT("dylibso:observe/api", "span-exit")
void observe_span_exit(void);
IMPORT("dylibso:observe/api", "span-tags")
void observe_span_tags(const char *ptr, u32 len);

// ---- extism:host/env (only what `spans` needs to read its input) ----
IMPORT("extism:host/env", "input_length")
u64 extism_input_length(void);
IMPORT("extism:host/env", "input_load_u8")
u32 extism_input_load_u8(u64 offset);

// String literal -> (pointer, length) with length = strlen (no NUL).
#define S(lit) (lit), (u32)(sizeof(lit) - 1)

#define enter(lit) observe_span_enter(S(lit))
#define exit_span() observe_span_exit()
#define tags(lit) observe_span_tags(S(lit))
#define log_(level, lit) observe_log((level), S(lit))
#define metric(format, lit) observe_metric((format), S(lit))

EXPORT("run")
int run(void) {
  enter("handle_request");
  tags("http.method:GET, http.url:https://example.com:8443/a?b=c ,cached,:dropped, ");
  log_(3, "handling request");
  enter("db.query");
  tags("db.system:sqlite");
  log_(4, "SELECT 1");
  metric(1, "db.queries:1|c|#table:users");
  exit_span();
  log_(1, "error message");
  log_(2, "warn message");
  log_(5, "trace message");
  metric(1, "requests:2|c|@0.5\n"
            "queue.depth:10|g\n"
            "queue.depth:+5|g\n"
            "queue.depth:-3|g\n"
            "latency:12.5|ms|#route:/a\n"
            "size:512|h\n"
            "payload:42|d");
  exit_span();
  return 0;
}

EXPORT("bad_metrics")
int bad_metrics(void) {
  metric(1, "no_value|c\n"
            "bad:abc|c\n"
            "x:1|zz\n"
            "ok.after.bad:1|c\n"
            "set.metric:1|s");
  metric(7, "x:1|c");
  return 0;
}

EXPORT("trap")
int trap(void) {
  enter("outer");
  enter("inner");
  __builtin_trap();
}

EXPORT("leave_open")
int leave_open(void) {
  enter("unclosed");  // left open on purpose
  return 0;
}

EXPORT("fail")
int fail(void) {
  enter("failing");
  exit_span();
  return 1;
}

static const char valid_msg[] = "valid static string";

EXPORT("bad_memory")
int bad_memory(void) {
  // volatile so clang keeps the odd pointers/lengths exactly as written.
  volatile u32 bad_ptr = 0xFFFFFFF0u;
  volatile u32 bad_len = 100;
  volatile u32 huge_len = 0x7FFFFFFFu;
  const char *volatile good_ptr = valid_msg;

  observe_span_enter((const char *)bad_ptr, bad_len);  // out of range
  observe_log(3, good_ptr, huge_len);                  // length far too big
  exit_span();  // nothing was entered successfully
  enter("after.bad");
  exit_span();
  return 0;
}

EXPORT("burst")
int burst(void) {
  for (volatile int i = 0; i < 50; i++) {
    enter("item");
    exit_span();
  }
  return 0;
}

EXPORT("spans")
int spans(void) {
  u64 len = extism_input_length();
  u32 n = 1000;
  if (len > 0) {
    n = 0;
    for (u64 i = 0; i < len; i++) {
      u32 c = extism_input_load_u8(i);
      if (c < '0' || c > '9') break;
      n = n * 10 + (c - '0');
    }
  }
  for (u32 i = 0; i < n; i++) {
    enter("s");
    exit_span();
  }
  return 0;
}

// metrics: one metric call for each part of the input, the parts
// separated by NUL bytes (at most 4 KiB of input is read).
static char metric_input[4096];

EXPORT("metrics")
int metrics(void) {
  u64 len = extism_input_length();
  if (len > sizeof(metric_input)) len = sizeof(metric_input);
  for (u32 i = 0; i < (u32)len; i++) metric_input[i] = (char)extism_input_load_u8(i);
  u32 start = 0;
  for (u32 i = 0; i <= (u32)len; i++) {
    if (i == (u32)len || metric_input[i] == 0) {
      observe_metric(1, metric_input + start, i - start);
      start = i + 1;
    }
  }
  return 0;
}
