package main

import (
	"context"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const passwordType = "random:index/randomPassword:RandomPassword" // pragma: allowlist secret (a resource type token)

// inputKeys are RandomPassword's inputs; a change to any of them replaces the password, as upstream.
var inputKeys = []resource.PropertyKey{
	"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
	"number", "numeric", "overrideSpecial", "special", "upper",
}

type checkFailure struct{ property, reason string }

// randomProvider serves RandomPassword, the one resource of pulumi-random the platform uses.
type randomProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	version string
}

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func (p *randomProvider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *randomProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *randomProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *randomProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *randomProvider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func checkType(urn string) error {
	if t := resource.URN(urn).Type(); t != passwordType {
		return status.Errorf(codes.InvalidArgument, "this pulumi-resource-random serves only %s, not %s", passwordType, t)
	}
	return nil
}

// Check applies upstream's defaults and validates the inputs.
func (p *randomProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts)
	if err != nil {
		return nil, err
	}
	withDefaults(news)
	var failures []*pulumirpc.CheckFailure
	if !news.ContainsUnknowns() {
		spec, bad := specOf(news)
		if len(bad) == 0 {
			bad = spec.validate()
		}
		for _, f := range bad {
			failures = append(failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
		}
	}
	inputs, err := plugin.MarshalProperties(news, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff replaces on any input change: a password is only ever generated, never edited.
func (p *randomProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), marshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, k := range inputKeys {
		o, n := olds[k], news[k]
		if o.IsSecret() {
			o = o.SecretValue().Element
		}
		if n.IsSecret() {
			n = n.SecretValue().Element
		}
		if n.IsComputed() || !o.DeepEquals(n) {
			changed = append(changed, string(k))
		}
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: changed, Diffs: changed}, nil
}

// Create generates the password; in a preview its result is unknown.
func (p *randomProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	props, err := plugin.UnmarshalProperties(req.GetProperties(), marshalOpts)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props["result"] = resource.MakeComputed(resource.NewStringProperty(""))
		props["bcryptHash"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else {
		spec, bad := specOf(props)
		if len(bad) > 0 {
			return nil, fmt.Errorf("%s: %s", bad[0].property, bad[0].reason)
		}
		result, err := spec.generate()
		if err != nil {
			return nil, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
		if err != nil {
			return nil, fmt.Errorf("hashing the password: %w", err)
		}
		props["result"] = resource.MakeSecret(resource.NewStringProperty(result))
		props["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	}
	out, err := plugin.MarshalProperties(props, marshalOpts)
	if err != nil {
		return nil, err
	}
	// upstream's id of a password is the constant "none"
	return &pulumirpc.CreateResponse{Id: "none", Properties: out}, nil
}

// Read returns the recorded state: a password exists only in the state.
func (p *randomProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *randomProvider) Update(context.Context, *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return nil, status.Error(codes.FailedPrecondition, "RandomPassword is replaced on every change, never updated")
}

func (p *randomProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func (p *randomProvider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

// withDefaults fills upstream's defaults; `number` is the deprecated name of `numeric`.
func withDefaults(m resource.PropertyMap) {
	for _, k := range []resource.PropertyKey{"upper", "lower", "special"} {
		if _, ok := m[k]; !ok {
			m[k] = resource.NewBoolProperty(true)
		}
	}
	_, hasNumeric := m["numeric"]
	number, hasNumber := m["number"]
	switch {
	case !hasNumeric && hasNumber:
		m["numeric"] = number
	case !hasNumeric:
		m["numeric"] = resource.NewBoolProperty(true)
	}
	if _, ok := m["number"]; !ok {
		m["number"] = m["numeric"]
	}
	for _, k := range []resource.PropertyKey{"minUpper", "minLower", "minNumeric", "minSpecial"} {
		if _, ok := m[k]; !ok {
			m[k] = resource.NewNumberProperty(0)
		}
	}
}

// specOf reads the generation inputs, naming any input of the wrong type.
func specOf(m resource.PropertyMap) (passwordSpec, []checkFailure) {
	var bad []checkFailure
	value := func(k resource.PropertyKey) resource.PropertyValue {
		v := m[k]
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		return v
	}
	num := func(k resource.PropertyKey) int {
		v := value(k)
		if !v.IsNumber() || v.NumberValue() != float64(int(v.NumberValue())) {
			bad = append(bad, checkFailure{string(k), fmt.Sprintf("%s must be a whole number, got %v", k, v)})
			return 0
		}
		return int(v.NumberValue())
	}
	flag := func(k resource.PropertyKey) bool {
		v := value(k)
		if !v.IsBool() {
			bad = append(bad, checkFailure{string(k), fmt.Sprintf("%s must be true or false, got %v", k, v)})
			return false
		}
		return v.BoolValue()
	}
	spec := passwordSpec{
		Length: num("length"), Upper: flag("upper"), Lower: flag("lower"), Numeric: flag("numeric"),
		Special: flag("special"), MinUpper: num("minUpper"), MinLower: num("minLower"),
		MinNumeric: num("minNumeric"), MinSpecial: num("minSpecial"),
	}
	if v := value("overrideSpecial"); v.IsString() {
		s := v.StringValue()
		spec.OverrideSpecial = &s
	}
	return spec, bad
}
