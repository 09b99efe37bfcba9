package e2e_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The README's production configuration (testdata/agent.yaml, repeated in
// the README's "Production" section word for word) is one the Collector
// accepts: `otelcol validate` builds every component of it.
func TestProductionConfig(t *testing.T) {
	bin := collectorBinary(t)
	cfg, err := os.ReadFile("testdata/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(cfg)+"```\n") {
		t.Error("README.md does not repeat e2e/testdata/agent.yaml word for word in a yaml block")
	}
	cmd := exec.Command(bin, "validate", "--config", "file:testdata/agent.yaml")
	cmd.Env = append(os.Environ(), "OTEL_GATEWAY_ENDPOINT=gateway.example:4317")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("otelcol validate: %v\n%s", err, out)
	}

	// And validation is no formality: a component the Collector does not
	// have is refused.
	bad := strings.ReplaceAll(string(cfg), "otlp_grpc", "otlp_gprc")
	path := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "validate", "--config", "file:"+path)
	cmd.Env = append(os.Environ(), "OTEL_GATEWAY_ENDPOINT=gateway.example:4317")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "otlp_gprc") {
		t.Errorf("otelcol validate accepted an unknown exporter: %v\n%s", err, out)
	}
}
