# Sourced by run.sh and sdk.sh: sets the benchstat array to the command that
# runs benchstat, from PATH, $(go env GOPATH)/bin, or the Go module proxy.
if command -v benchstat >/dev/null; then
  benchstat=(benchstat)
elif [ -x "$(go env GOPATH)/bin/benchstat" ]; then
  benchstat=("$(go env GOPATH)/bin/benchstat")
else
  benchstat=(go run golang.org/x/perf/cmd/benchstat@latest)
fi
