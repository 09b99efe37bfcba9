#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that the end-to-end tests run
# (otelcol/: the OTLP receiver and the file exporter) into bin/otelcol.
# Needs only Go and the Go module proxy; CI runs it before the tests:
#
#	e2e/build.sh && (cd e2e && go test ./...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

start=$SECONDS
# -mod=readonly: go.mod and go.sum must already be complete; a build that
# wants to change them fails here rather than in CI's next step.
go build -mod=readonly -trimpath -o bin/otelcol ./otelcol
echo "built e2e/bin/otelcol ($(bin/otelcol --version)) in $((SECONDS - start))s"
