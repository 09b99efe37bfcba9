// Command otelcol is the smallest OpenTelemetry Collector the end-to-end
// tests need: the OTLP receiver (gRPC and HTTP) and the contrib file
// exporter, plus the batch and memory_limiter processors and the OTLP
// exporter of the README's production configuration. It is wired as the Collector builder wires
// cmd/otelcorecol (a components function and otelcol.NewCommand), and reads
// its configuration from a file:
//
//	otelcol --config file:/path/to/config.yaml
//
// Build it with ../build.sh, which puts it in ../bin/otelcol.
package main

import (
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// The releases the components come from, as the builder records them; keep
// them in step with go.mod.
const (
	coreVersion    = "v0.165.0"
	stableVersion  = "v1.71.0"
	contribVersion = "v0.165.1"
)

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "OpenTelemetry Collector for the extism-observe end-to-end tests (OTLP receiver, file and OTLP exporters, batch and memory_limiter processors).",
			Version:     coreVersion,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				// otelcol.NewCommand makes env the default scheme (${VAR}),
				// which must then be there.
				ProviderFactories: []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory()},
			},
		},
		ProviderModules: map[string]string{
			"env":  "go.opentelemetry.io/collector/confmap/provider/envprovider " + stableVersion,
			"file": "go.opentelemetry.io/collector/confmap/provider/fileprovider " + stableVersion,
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		// cobra has printed the error already.
		os.Exit(1)
	}
}

// components returns the factories of the components the tests configure.
// The telemetry factory is the standard one, so that service::telemetry
// takes the usual configuration (the tests set metrics level none, so that
// the Collector opens no port of its own).
func components() (otelcol.Factories, error) {
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return otelcol.Factories{}, err
	}
	f.ReceiverModules = map[component.Type]string{
		otlpreceiver.NewFactory().Type(): "go.opentelemetry.io/collector/receiver/otlpreceiver " + coreVersion,
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory(), otlpexporter.NewFactory()); err != nil {
		return otelcol.Factories{}, err
	}
	f.ExporterModules = map[component.Type]string{
		fileexporter.NewFactory().Type(): "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter " + contribVersion,
		otlpexporter.NewFactory().Type(): "go.opentelemetry.io/collector/exporter/otlpexporter " + coreVersion,
	}
	// The processors and the OTLP exporter are for the README's production
	// configuration, which TestProductionConfig validates.
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](batchprocessor.NewFactory(), memorylimiterprocessor.NewFactory()); err != nil {
		return otelcol.Factories{}, err
	}
	f.ProcessorModules = map[component.Type]string{
		batchprocessor.NewFactory().Type():         "go.opentelemetry.io/collector/processor/batchprocessor " + coreVersion,
		memorylimiterprocessor.NewFactory().Type(): "go.opentelemetry.io/collector/processor/memorylimiterprocessor " + coreVersion,
	}
	return f, nil
}
