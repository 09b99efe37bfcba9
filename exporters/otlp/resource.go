package otlp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource builds the resource of all three providers. Later detectors
// win over earlier ones, so the precedence is, from lowest:
// "unknown_service:" and the executable's name, [WithServiceName], the environment (OTEL_RESOURCE_ATTRIBUTES, then
// OTEL_SERVICE_NAME), and [WithResource].
//
// It is kept light: every detector here reads the process or a syscall.
// Process owner (a user database look-up) and command arguments (which may
// hold secrets) are left out.
func (c *config) newResource(ctx context.Context) (*resource.Resource, error) {
	name := c.serviceName
	if name == "" {
		name = defaultServiceName()
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name)),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithFromEnv(),
	)
	if err != nil {
		// A partial resource (a malformed OTEL_RESOURCE_ATTRIBUTES, no host
		// name) still describes the process: report the error, keep going.
		if !errors.Is(err, resource.ErrPartialResource) {
			return nil, fmt.Errorf("otlp: resource: %w", err)
		}
		otel.Handle(fmt.Errorf("otlp: resource: %w", err))
	}
	if c.resource == nil {
		return res, nil
	}
	merged, err := resource.Merge(res, c.resource)
	if err != nil {
		// Only schema URLs can conflict; the merged attributes are right,
		// and are kept without a schema URL.
		if !errors.Is(err, resource.ErrSchemaURLConflict) {
			return nil, fmt.Errorf("otlp: resource: %w", err)
		}
	}
	return merged, nil
}

// defaultServiceName names the service when nothing else does, as the
// resource semantic conventions ask of SDKs: "unknown_service:" followed by
// the executable's name, when it is known.
func defaultServiceName() string {
	path, err := os.Executable()
	if err != nil || path == "" {
		if len(os.Args) == 0 || os.Args[0] == "" {
			return "unknown_service"
		}
		path = os.Args[0]
	}
	return "unknown_service:" + strings.TrimSuffix(filepath.Base(path), ".exe")
}
