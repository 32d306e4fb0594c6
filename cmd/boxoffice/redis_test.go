package main

import (
	"slices"
	"testing"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		url      string
		addrs    []string // nil: one server
		password string
	}{
		{"redis://127.0.0.1:6379/0", nil, ""},
		{"redis+cluster://10.0.0.1:7000", []string{"10.0.0.1:7000"}, ""},
		{"redis+cluster://:pw@r1:7000,r2:7001, r3:7002/?max_redirects=5", []string{"r1:7000", "r2:7001", "r3:7002"}, "pw"},
		{"rediss+cluster://[::1]:7000,[::1]:7001", []string{"[::1]:7000", "[::1]:7001"}, ""},
	}
	for _, tt := range tests {
		single, cluster, err := parseRedisURL(tt.url)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case tt.addrs == nil && single == nil:
			t.Errorf("%s: not parsed as one server", tt.url)
		case tt.addrs != nil && (cluster == nil || !slices.Equal(cluster.Addrs, tt.addrs) || cluster.Password != tt.password):
			t.Errorf("%s: cluster options %+v, want addrs %v password %q", tt.url, cluster, tt.addrs, tt.password)
		}
	}
	if _, cluster, _ := parseRedisURL("rediss+cluster://r1:7000"); cluster == nil || cluster.TLSConfig == nil {
		t.Error("rediss+cluster:// without TLS")
	}
	for _, bad := range []string{"localhost:6379", "redis+cluster://", "redis+cluster://r1", "redis+cluster://r1:7000,",
		"redis+cluster://r1:7000/2", "redis+cluster://r1:7000?addr=r2:7000", "redis+cluster://r1:7000?nope=1", "redis+cluster://r1:7000?a=%zz"} {
		if _, _, err := parseRedisURL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
