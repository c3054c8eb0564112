package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func info(t *testing.T, root string, options map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: root, ProgramDirectory: root, EntryPoint: ".", Options: opts}
}

func TestInterpreterIsTheVirtualenvsRelativeToTheRoot(t *testing.T) {
	root := t.TempDir()
	python := filepath.Join(root, "..", filepath.Base(root)+"-venv", "bin", "python")
	if err := os.MkdirAll(filepath.Dir(python), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(python, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := interpreter(info(t, root, map[string]any{"virtualenv": "../" + filepath.Base(root) + "-venv"}))
	if err != nil || got != filepath.Clean(python) {
		t.Fatalf("interpreter = %q, %v; want %q", got, err, python)
	}
}

func TestAMissingVirtualenvIsNamed(t *testing.T) {
	_, err := interpreter(info(t, t.TempDir(), map[string]any{"virtualenv": ".venv"}))
	if err == nil || !strings.Contains(err.Error(), ".venv") || !strings.Contains(err.Error(), "scripts/install") {
		t.Fatalf("error = %v", err)
	}
}

func TestRunArgsCarryTheEnginesSettings(t *testing.T) {
	h := &pythonHost{engine: "127.0.0.1:1", exec: "/bin/pulumi-language-python-exec"}
	req := &pulumirpc.RunRequest{Project: "workflow-platform", Stack: "alpha", MonitorAddress: "127.0.0.1:2",
		DryRun: true, Parallel: 8, Args: []string{"extra"}, Info: info(t, "/proj", nil)}
	args := h.runArgs(req)
	want := []string{"-u", "/bin/pulumi-language-python-exec", "--monitor", "127.0.0.1:2", "--engine", "127.0.0.1:1",
		"--project", "workflow-platform", "--stack", "alpha", "--pwd", "/proj", "--root_directory", "/proj",
		"--parallel", "8", "--dry_run", "true", ".", "extra"}
	if !slices.Equal(args, want) {
		t.Fatalf("args\n got %q\nwant %q", args, want)
	}
	req.DryRun = false
	if slices.Contains(h.runArgs(req), "--dry_run") {
		t.Fatal("an update must not be run as a dry run")
	}
}

func TestRunEnvPassesConfigAsThePythonSDKReadsIt(t *testing.T) {
	env, err := runEnv(&pulumirpc.RunRequest{Config: map[string]string{"workflow-platform:stage": "alpha"},
		ConfigSecretKeys: []string{"workflow-platform:token"}})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	var config map[string]string
	if err := json.Unmarshal([]byte(values["PULUMI_CONFIG"]), &config); err != nil || config["workflow-platform:stage"] != "alpha" {
		t.Fatalf("PULUMI_CONFIG = %q", values["PULUMI_CONFIG"])
	}
	if values["PULUMI_CONFIG_SECRET_KEYS"] != `["workflow-platform:token"]` {
		t.Fatalf("PULUMI_CONFIG_SECRET_KEYS = %q", values["PULUMI_CONFIG_SECRET_KEYS"])
	}
	empty, _ := runEnv(&pulumirpc.RunRequest{})
	if !slices.Contains(empty, "PULUMI_CONFIG_SECRET_KEYS=[]") {
		t.Fatal("no secret keys must be an empty list, not null")
	}
}
