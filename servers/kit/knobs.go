package kit

import (
	"strconv"
	"time"
)

// Values reads knob values with defaults and collects the first parse error.
type Values struct {
	m   map[string]string
	Err error
}

// NewValues wraps a knob map.
func NewValues(m map[string]string) *Values { return &Values{m: m} }

func (v *Values) fail(err error) {
	if v.Err == nil {
		v.Err = err
	}
}

// String returns the knob's value, or def when unset.
func (v *Values) String(name, def string) string {
	if s, ok := v.m[name]; ok {
		return s
	}
	return def
}

// OneOf returns the knob's value, which must be one of allowed.
func (v *Values) OneOf(name, def string, allowed ...string) string {
	s := v.String(name, def)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	want := ""
	for i, a := range allowed {
		if i > 0 {
			want += " | "
		}
		want += a
	}
	v.fail(&KnobError{Knob: name, Value: s, Want: want})
	return def
}

// Int returns the knob as an integer in [lo, hi].
func (v *Values) Int(name string, def, lo, hi int64) int64 {
	s, ok := v.m[name]
	if !ok {
		return def
	}
	n, err := parseSize(s)
	if err != nil || n < lo || n > hi {
		v.fail(&KnobError{Knob: name, Value: s, Want: "a number of bytes from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10) + " (suffixes KiB, MiB allowed)"})
		return def
	}
	return n
}

// Duration returns the knob as a duration (Go syntax, e.g. 5s, 250ms).
func (v *Values) Duration(name string, def time.Duration) time.Duration {
	s, ok := v.m[name]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		v.fail(&KnobError{Knob: name, Value: s, Want: "a duration such as 5s or 250ms"})
		return def
	}
	return d
}

// parseSize reads "2048", "64KiB", "1MiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if len(s) > len(suf.s) && s[len(s)-len(suf.s):] == suf.s {
			s, mult = s[:len(s)-len(suf.s)], suf.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}
