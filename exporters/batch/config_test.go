package batch

import (
	"slices"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    []Option
		want    config
		wantBad []string
	}{
		{
			name: "defaults",
			want: config{queueSize: 2048, batchSize: 512, batchTimeout: 5 * time.Second, exportTimeout: 30 * time.Second},
		},
		{
			name: "environment",
			env: map[string]string{
				"OTEL_BSP_MAX_QUEUE_SIZE":        "20000",
				"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000",
				"OTEL_BSP_SCHEDULE_DELAY":        "250",
				"OTEL_BSP_EXPORT_TIMEOUT":        "0",
			},
			want: config{queueSize: 20000, batchSize: 1000, batchTimeout: 250 * time.Millisecond, exportTimeout: 0},
		},
		{
			name: "options win over the environment",
			env:  map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "20000", "OTEL_BSP_SCHEDULE_DELAY": "250"},
			opts: []Option{WithQueueSize(100), WithBatchSize(10), WithBatchTimeout(time.Second), WithExportTimeout(time.Minute)},
			want: config{queueSize: 100, batchSize: 10, batchTimeout: time.Second, exportTimeout: time.Minute},
		},
		{
			name:    "invalid environment ignored",
			env:     map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "-1", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "big", "OTEL_BSP_SCHEDULE_DELAY": "0", "OTEL_BSP_EXPORT_TIMEOUT": "-5"},
			want:    config{queueSize: 2048, batchSize: 512, batchTimeout: 5 * time.Second, exportTimeout: 30 * time.Second},
			wantBad: []string{"OTEL_BSP_MAX_QUEUE_SIZE=-1", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=big", "OTEL_BSP_SCHEDULE_DELAY=0", "OTEL_BSP_EXPORT_TIMEOUT=-5"},
		},
		{
			name: "invalid options ignored",
			opts: []Option{WithQueueSize(0), WithBatchSize(-1), WithBatchTimeout(0), WithWarnInterval(-time.Second)},
			want: config{queueSize: 2048, batchSize: 512, batchTimeout: 5 * time.Second, exportTimeout: 30 * time.Second},
		},
		{
			name: "batch no larger than the queue",
			opts: []Option{WithQueueSize(100)},
			want: config{queueSize: 100, batchSize: 100, batchTimeout: 5 * time.Second, exportTimeout: 30 * time.Second},
		},
		{
			name: "batch size from the environment, lowered to the queue size",
			env:  map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "3"},
			want: config{queueSize: 3, batchSize: 3, batchTimeout: 5 * time.Second, exportTimeout: 30 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{envQueueSize, envBatchSize, envBatchTimeout, envExportTimeout} {
				t.Setenv(k, tt.env[k])
			}
			got := newConfig(tt.opts)
			if got.queueSize != tt.want.queueSize || got.batchSize != tt.want.batchSize ||
				got.batchTimeout != tt.want.batchTimeout || got.exportTimeout != tt.want.exportTimeout {
				t.Errorf("queue %d, batch %d, batch timeout %v, export timeout %v; want %d, %d, %v, %v",
					got.queueSize, got.batchSize, got.batchTimeout, got.exportTimeout,
					tt.want.queueSize, tt.want.batchSize, tt.want.batchTimeout, tt.want.exportTimeout)
			}
			if got.warnInterval != DefaultWarnInterval {
				t.Errorf("warn interval %v, want %v", got.warnInterval, DefaultWarnInterval)
			}
			if !slices.Equal(got.badEnv, tt.wantBad) {
				t.Errorf("invalid variables %q, want %q", got.badEnv, tt.wantBad)
			}
		})
	}
}
