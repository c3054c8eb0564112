package main

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const urn = "urn:pulumi:local::workflow-platform::random:index/randomPassword:RandomPassword::db"

func props(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, marshalOpts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unprops(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, marshalOpts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checked(t *testing.T, in resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	resp, err := (&randomProvider{}).Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, News: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	return unprops(t, resp.GetInputs()), resp.GetFailures()
}

func TestGenerateHonoursLengthSetsAndMinimums(t *testing.T) {
	spec := passwordSpec{Length: 12, Upper: true, Lower: true, Numeric: true, Special: false,
		MinUpper: 4, MinLower: 4, MinNumeric: 4}
	for i := 0; i < 50; i++ {
		pw, err := spec.generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 12 {
			t.Fatalf("length %d, want 12: %q", len(pw), pw)
		}
		count := func(set string) int {
			return len(pw) - len(strings.Map(func(r rune) rune {
				if strings.ContainsRune(set, r) {
					return -1
				}
				return r
			}, pw))
		}
		if count(upperChars) != 4 || count(lowerChars) != 4 || count(numericChars) != 4 {
			t.Fatalf("minimums not met exactly (length equals their sum): %q", pw)
		}
	}
}

func TestSpecialCharactersOnlyWhenEnabled(t *testing.T) {
	noSpecial := passwordSpec{Length: 64, Upper: true, Lower: true, Numeric: true}
	pw, err := noSpecial.generate()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(pw, defaultSpecial) {
		t.Fatalf("special=false but got %q", pw)
	}
	only := "#"
	onlySpecial := passwordSpec{Length: 8, Special: true, OverrideSpecial: &only}
	if pw, _ := onlySpecial.generate(); pw != "########" {
		t.Fatalf("overrideSpecial ignored: %q", pw)
	}
}

func TestPasswordsDiffer(t *testing.T) {
	spec := passwordSpec{Length: 32, Upper: true, Lower: true, Numeric: true}
	a, _ := spec.generate()
	b, _ := spec.generate()
	if a == b {
		t.Fatalf("two passwords are equal: %q", a)
	}
}

func TestValidateBoundaries(t *testing.T) {
	base := passwordSpec{Upper: true, Lower: true, MinUpper: 2, MinLower: 2}
	atSum := base
	atSum.Length = 4
	if f := atSum.validate(); len(f) != 0 {
		t.Fatalf("length equal to the minimums' sum refused: %v", f)
	}
	belowSum := base
	belowSum.Length = 3
	f := belowSum.validate()
	if len(f) != 1 || f[0].property != "length" || !strings.Contains(f[0].reason, "(4)") {
		t.Fatalf("length below the minimums' sum: %v", f)
	}
	if f := (passwordSpec{Length: 0, Lower: true}).validate(); len(f) != 1 || f[0].property != "length" {
		t.Fatalf("length 0: %v", f)
	}
	if f := (passwordSpec{Length: 1, Lower: true}).validate(); len(f) != 0 {
		t.Fatalf("length 1: %v", f)
	}
	if f := (passwordSpec{Length: 8}).validate(); len(f) != 1 || !strings.Contains(f[0].reason, "at least one") {
		t.Fatalf("no character set: %v", f)
	}
}

func TestCheckAppliesUpstreamDefaults(t *testing.T) {
	in, failures := checked(t, resource.PropertyMap{"length": resource.NewNumberProperty(32), "special": resource.NewBoolProperty(false)})
	if len(failures) != 0 {
		t.Fatalf("failures: %v", failures)
	}
	for k, want := range map[resource.PropertyKey]resource.PropertyValue{
		"upper": resource.NewBoolProperty(true), "lower": resource.NewBoolProperty(true),
		"numeric": resource.NewBoolProperty(true), "number": resource.NewBoolProperty(true),
		"special": resource.NewBoolProperty(false), "minUpper": resource.NewNumberProperty(0),
	} {
		if !in[k].DeepEquals(want) {
			t.Errorf("%s = %v, want %v", k, in[k], want)
		}
	}
	_, failures = checked(t, resource.PropertyMap{"length": resource.NewStringProperty("32")})
	if len(failures) != 1 || failures[0].GetProperty() != "length" {
		t.Fatalf("a string length: %v", failures)
	}
}

func TestCheckRefusesOtherResourceTypes(t *testing.T) {
	_, err := (&randomProvider{}).Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:local::workflow-platform::random:index/randomString:RandomString::x", News: props(t, resource.PropertyMap{})})
	if err == nil || !strings.Contains(err.Error(), "randomString") {
		t.Fatalf("RandomString accepted: %v", err)
	}
}

func TestDiffReplacesOnAnyInputChange(t *testing.T) {
	olds, _ := checked(t, resource.PropertyMap{"length": resource.NewNumberProperty(32)})
	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		in, _ := checked(t, news)
		resp, err := (&randomProvider{}).Diff(context.Background(), &pulumirpc.DiffRequest{Urn: urn, Olds: props(t, olds), News: props(t, in)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if d := diff(resource.PropertyMap{"length": resource.NewNumberProperty(32)}); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same inputs: %v", d)
	}
	if d := diff(resource.PropertyMap{"length": resource.NewNumberProperty(33)}); d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME ||
		strings.Join(d.GetReplaces(), ",") != "length" {
		t.Fatalf("length change: %v", d)
	}
	keepers := resource.NewObjectProperty(resource.PropertyMap{"rotation": resource.NewStringProperty("2")})
	if d := diff(resource.PropertyMap{"length": resource.NewNumberProperty(32), "keepers": keepers}); strings.Join(d.GetReplaces(), ",") != "keepers" {
		t.Fatalf("keepers change: %v", d)
	}
}

func TestCreateGeneratesSecretResultAndHash(t *testing.T) {
	in, _ := checked(t, resource.PropertyMap{"length": resource.NewNumberProperty(20), "special": resource.NewBoolProperty(false)})
	p := &randomProvider{}
	preview, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: props(t, in), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if out := unprops(t, preview.GetProperties()); !out["result"].IsComputed() {
		t.Fatalf("preview result should be unknown: %v", out["result"])
	}
	created, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	out := unprops(t, created.GetProperties())
	if created.GetId() != "none" || !out["result"].IsSecret() || !out["bcryptHash"].IsSecret() {
		t.Fatalf("id %q, outputs %v", created.GetId(), out)
	}
	result := out["result"].SecretValue().Element.StringValue()
	hash := out["bcryptHash"].SecretValue().Element.StringValue()
	if len(result) != 20 || bcrypt.CompareHashAndPassword([]byte(hash), []byte(result)) != nil {
		t.Fatalf("result %d chars, hash does not match", len(result))
	}
}
