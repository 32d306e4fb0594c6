package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/server"
)

// TestWSSlotComesBack: a socket's slot is given back when the socket ends,
// so an account at its cap can open one again.
func TestWSSlotComesBack(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg(), limits: map[string]server.RouteLimits{}})
	event, _ := e.event(1, 1, 2)
	_, token := e.signUp("fan")
	var socks []*wsConn
	for range server.DefaultWSMaxPerAccount {
		w := mustDialWS(t, e.base, token)
		w.subscribe("event:" + event + ":seats")
		socks = append(socks, w)
	}
	if _, res, err := dialWS(t, e.base, token, false); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("socket past the account's cap: %v %v, want 429", err, res)
	}
	_ = socks[0].c.Close()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var w *wsConn
		if w, _, err = dialWS(t, e.base, token, false); err == nil {
			w.subscribe("event:" + event + ":seats")
			return
		}
	}
	t.Errorf("the closed socket's slot never came back: %v", err)
}
