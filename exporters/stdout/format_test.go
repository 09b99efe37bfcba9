package stdout

import (
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{-5 * time.Millisecond, "0s"},
		{850, "850ns"},
		{999, "999ns"},
		{1000, "1µs"},
		{350 * time.Microsecond, "350µs"},
		{1200 * time.Microsecond, "1.2ms"},
		{1234567, "1.23ms"},
		{999_700, "1ms"},
		{12_345 * time.Microsecond, "12.3ms"},
		{2010 * time.Millisecond, "2.01s"},
		{59_999_600 * time.Microsecond, "1m0s"},
		{90 * time.Second, "1m30s"},
		{2*time.Hour + 400*time.Millisecond, "2h0m0s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%d) = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		in   attribute.Value
		want string
	}{
		{attribute.BoolValue(true), "true"},
		{attribute.Int64Value(-42), "-42"},
		{attribute.Float64Value(12.5), "12.5"},
		{attribute.Float64Value(1e21), "1e+21"},
		{attribute.Float64Value(0.00001), "1e-05"},
		{attribute.Float64Value(math.Inf(-1)), "-Inf"},
		{attribute.Float64Value(math.NaN()), "NaN"},
		{attribute.StringValue("plain"), "plain"},
		{attribute.StringValue("two words"), `"two words"`},
		{attribute.StringSliceValue([]string{"a", "b c", "d,e"}), `[a,"b c","d,e"]`},
		{attribute.Int64SliceValue([]int64{1, 2}), "[1,2]"},
		{attribute.BoolSliceValue([]bool{true, false}), "[true,false]"},
		{attribute.Float64SliceValue([]float64{0.5}), "[0.5]"},
		{attribute.ByteSliceValue([]byte("\x1b[2J")), "G1sySg=="},
		{attribute.MapValue(attribute.String("z", "1"), attribute.Int("a", 2)), `{a=2,z=1}`},
		{attribute.SliceValue(attribute.StringValue("x\ny"), attribute.IntValue(1)), `["x\ny",1]`},
		{attribute.Value{}, `""`},
	}
	for _, tt := range tests {
		if got := string(appendValue(nil, tt.in, 0)); got != tt.want {
			t.Errorf("appendValue(%s) = %s, want %s", tt.in.Emit(), got, tt.want)
		}
	}
}

func TestAttrsSortedAndEscaped(t *testing.T) {
	kvs := []attribute.KeyValue{
		attribute.String("z", "last"),
		attribute.String("a b", "spaced key"),
		attribute.String("evil\x1b[2J", "v\r\n"),
		attribute.Int("m", 1),
	}
	p := &printer{}
	p.attrs(kvs)
	want := ` "a b"="spaced key" "evil\x1b[2J"="v\r\n" m=1 z=last`
	if got := string(p.b); got != want {
		t.Errorf("attrs = %s\nwant    %s", got, want)
	}
	if kvs[0].Key != "z" {
		t.Error("attrs reordered its argument")
	}
}
