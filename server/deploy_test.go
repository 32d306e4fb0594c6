package server

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestNginxBodyLimitsMatchTheApp: deploy/nginx.conf refuses bodies at the
// app's own limits (maxBody for every route, maxUploadBody for the venue
// upload), so a body the app would take is never refused at the edge and
// a larger one never reaches a replica. Changing one side without the
// other fails here.
func TestNginxBodyLimitsMatchTheApp(t *testing.T) {
	raw, err := os.ReadFile("../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	size := func(v, unit string) int {
		n, _ := strconv.Atoi(v)
		switch unit {
		case "k", "K":
			return n << 10
		case "m", "M":
			return n << 20
		}
		return n
	}
	server := regexp.MustCompile(`(?m)^\s*server\s*\{[^}]*?client_max_body_size\s+(\d+)([kKmM]?);`).FindStringSubmatch(conf)
	venues := regexp.MustCompile(`location\s*=\s*/api/admin/venues\s*\{[^}]*?client_max_body_size\s+(\d+)([kKmM]?);`).FindStringSubmatch(conf)
	if server == nil || venues == nil {
		t.Fatalf("nginx.conf: no client_max_body_size for the server (%v) or for the venue upload (%v)", server, venues)
	}
	if got := size(server[1], server[2]); got != maxBody {
		t.Errorf("nginx's body limit is %d bytes, the app's %d", got, maxBody)
	}
	if got := size(venues[1], venues[2]); got != maxUploadBody {
		t.Errorf("nginx's venue upload limit is %d bytes, the app's %d", got, maxUploadBody)
	}
}
