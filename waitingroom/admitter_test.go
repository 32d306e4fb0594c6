package waitingroom

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestTwoAdmittersNeverDoubleAdmit runs two nodes' admitters on one event
// (a private Redis), kills the leader half way (it stops without giving the
// lease up, as a crash would) and checks that the other takes over within
// the lease TTL and that no fan was ever admitted twice.
func TestTwoAdmittersNeverDoubleAdmit(t *testing.T) {
	f := newFixture(t, true)
	const ttl = time.Second
	tune := func(c *Config) { c.LeaseTTL = ttl; c.Tick = 25 * time.Millisecond }
	recA, recB := newRecorder(), newRecorder()
	a, b := f.service(recA, tune), f.service(recB, tune)
	ctx := context.Background()
	const n = 3000
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 120_000, ActiveLimit: n})
	bulkJoin(t, a, ev, accounts(1, n))

	type node struct {
		adm  *Admitter
		stop chan struct{}
		done chan struct{}
		mu   sync.Mutex
		led  time.Time // first step as leader
	}
	run := func(s *Service) *node {
		nd := &node{adm: s.NewAdmitter(ev), stop: make(chan struct{}), done: make(chan struct{})}
		go func() {
			defer close(nd.done)
			tk := time.NewTicker(s.cfg.Tick)
			defer tk.Stop()
			for {
				res, err := nd.adm.Step(ctx)
				if err != nil && !errors.Is(err, ErrFenced) {
					t.Errorf("step: %v", err)
				}
				if res.Leader {
					nd.mu.Lock()
					if nd.led.IsZero() {
						nd.led = time.Now()
					}
					nd.mu.Unlock()
				}
				select {
				case <-nd.stop: // killed: no lease release
					return
				case <-tk.C:
				}
			}
		}()
		return nd
	}
	na, nb := run(a), run(b)
	admitted := func() int {
		recA.mu.Lock()
		defer recA.mu.Unlock()
		recB.mu.Lock()
		defer recB.mu.Unlock()
		return len(recA.admitted) + len(recB.admitted)
	}
	for admitted() < n/3 {
		time.Sleep(10 * time.Millisecond)
	}
	leader, standby := na, nb
	if ok, _ := nb.adm.Leader(); ok {
		leader, standby = nb, na
	}
	standby.mu.Lock()
	if !standby.led.IsZero() {
		t.Fatal("both admitters led at once")
	}
	standby.mu.Unlock()
	close(leader.stop)
	<-leader.done
	killed := time.Now()
	for {
		standby.mu.Lock()
		led := standby.led
		standby.mu.Unlock()
		if !led.IsZero() {
			took := led.Sub(killed)
			t.Logf("leader killed after %d admissions; the standby took over after %v (lease TTL %v)", admitted(), took, ttl)
			// The lease ends at most one TTL after the leader's last
			// renewal, and the standby tries once a tick.
			if took > ttl+20*a.cfg.Tick {
				t.Errorf("takeover took %v, want within the lease TTL %v (plus a retry)", took, ttl)
			}
			break
		}
		if time.Since(killed) > 10*ttl {
			t.Fatal("no takeover")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for admitted() < n {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("only %d of %d admitted", admitted(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(standby.stop)
	<-standby.done

	recA.mu.Lock()
	recB.mu.Lock()
	defer recA.mu.Unlock()
	defer recB.mu.Unlock()
	for acct := int64(1); acct <= n; acct++ {
		if got := recA.admitted[acct] + recB.admitted[acct]; got != 1 {
			t.Fatalf("account %d admitted %d times", acct, got)
		}
	}
	if cnt, _ := f.rdb.ZCard(ctx, a.keys(ev).adm).Result(); cnt != n {
		t.Errorf("%d active admissions in Redis, want %d", cnt, n)
	}
}

// TestAdmitterFencing: a leader that pauses after taking the lease and
// resumes after another took over changes nothing.
func TestAdmitterFencing(t *testing.T) {
	f := newFixture(t, false)
	a, b := f.service(nil, nil), f.service(nil, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 60_000})
	bulkJoin(t, a, ev, accounts(1, 50))
	stale := a.NewAdmitter(ev)
	fresh := b.NewAdmitter(ev)
	var freshRes TickResult
	var staleTok int64
	stale.beforeAdmit = func() {
		_, staleTok = stale.Leader()
		// The pause outlasts the lease; another node takes over.
		f.rdb.Del(ctx, a.keys(ev).lease)
		var err error
		if freshRes, err = fresh.Step(ctx); err != nil || !freshRes.Leader {
			t.Errorf("takeover: %+v %v", freshRes, err)
		}
	}
	res, err := stale.Step(ctx)
	if !errors.Is(err, ErrFenced) || len(res.Admitted) != 0 {
		t.Fatalf("stale leader: %+v %v, want ErrFenced and nothing admitted", res, err)
	}
	if ok, tok := fresh.Leader(); !ok || tok <= staleTok {
		t.Fatalf("fresh leader token %d, stale %d: fencing tokens must grow", tok, staleTok)
	}
	cnt, _ := f.rdb.ZCard(ctx, a.keys(ev).adm).Result()
	if cnt != int64(len(freshRes.Admitted)) {
		t.Errorf("%d admissions, want only the new leader's %d", cnt, len(freshRes.Admitted))
	}
}

// TestRunAdmittersFollowsSettings: the runner starts an admitter for a room
// that is on, and stops it (giving the lease up) when the room is turned off.
func TestRunAdmittersFollowsSettings(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, func(c *Config) { c.RunnerScan = 50 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 6000})
	bulkJoin(t, s, ev, []int64{1})
	done := make(chan struct{})
	go func() { defer close(done); s.RunAdmitters(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "admission", func() bool { st, _ := s.Me(ctx, ev, 1); return st.State == StateAdmitted })
	if err := s.Configure(ctx, ev, Settings{Enabled: false}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lease given up", func() bool { return f.rdb.Exists(ctx, s.keys(ev).lease).Val() == 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
