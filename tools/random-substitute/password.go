package main

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Character sets of pulumi-random's RandomPassword (those of terraform-provider-random).
const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	// defaultSpecial is used unless overrideSpecial is set.
	defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"
)

// passwordSpec holds RandomPassword's generation inputs after defaults are applied.
type passwordSpec struct {
	Length                                     int
	Upper, Lower, Numeric, Special             bool
	MinUpper, MinLower, MinNumeric, MinSpecial int
	OverrideSpecial                            *string
}

// validate names the input at fault, as the upstream provider's checks do.
func (s passwordSpec) validate() []checkFailure {
	var failures []checkFailure
	if s.Length < 1 {
		failures = append(failures, checkFailure{"length", fmt.Sprintf("length must be at least 1, got %d", s.Length)})
	}
	for _, m := range []struct {
		name  string
		value int
	}{{"minUpper", s.MinUpper}, {"minLower", s.MinLower}, {"minNumeric", s.MinNumeric}, {"minSpecial", s.MinSpecial}} {
		if m.value < 0 {
			failures = append(failures, checkFailure{m.name, fmt.Sprintf("%s must not be negative, got %d", m.name, m.value)})
		}
	}
	if mins := s.MinUpper + s.MinLower + s.MinNumeric + s.MinSpecial; s.Length >= 1 && mins > s.Length {
		failures = append(failures, checkFailure{"length", fmt.Sprintf(
			"length (%d) must be at least the sum of minUpper, minLower, minNumeric and minSpecial (%d)", s.Length, mins)})
	}
	if s.charset() == "" {
		failures = append(failures, checkFailure{"upper", "at least one of upper, lower, numeric and special must be true"})
	}
	return failures
}

func (s passwordSpec) special() string {
	if s.OverrideSpecial != nil {
		return *s.OverrideSpecial
	}
	return defaultSpecial
}

// charset is every character the password may hold.
func (s passwordSpec) charset() string {
	chars := ""
	if s.Upper {
		chars += upperChars
	}
	if s.Lower {
		chars += lowerChars
	}
	if s.Numeric {
		chars += numericChars
	}
	if s.Special {
		chars += s.special()
	}
	return chars
}

// generate draws each minimum from its own set, fills the rest from every enabled set and
// shuffles, all with crypto/rand.
func (s passwordSpec) generate() (string, error) {
	if failures := s.validate(); len(failures) > 0 {
		return "", fmt.Errorf("%s: %s", failures[0].property, failures[0].reason)
	}
	var out []byte
	for _, part := range []struct {
		chars string
		count int
	}{{upperChars, s.MinUpper}, {lowerChars, s.MinLower}, {numericChars, s.MinNumeric}, {s.special(), s.MinSpecial}} {
		drawn, err := draw(part.chars, part.count)
		if err != nil {
			return "", err
		}
		out = append(out, drawn...)
	}
	rest, err := draw(s.charset(), s.Length-len(out))
	if err != nil {
		return "", err
	}
	out = append(out, rest...)
	for i := len(out) - 1; i > 0; i-- { // Fisher–Yates
		j, err := randInt(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

func draw(chars string, count int) ([]byte, error) {
	if count > 0 && chars == "" {
		return nil, fmt.Errorf("cannot draw %d characters from an empty set", count)
	}
	out := make([]byte, 0, count)
	for i := 0; i < count; i++ {
		j, err := randInt(len(chars))
		if err != nil {
			return nil, err
		}
		out = append(out, chars[j])
	}
	return out, nil
}

func randInt(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("reading random bytes: %w", err)
	}
	return int(v.Int64()), nil
}
