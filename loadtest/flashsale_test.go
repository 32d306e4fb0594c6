package loadtest

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url         string
		allowRemote bool
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"https://127.0.0.2", false, true},
		{"http://192.0.2.1:8080", false, false},
		{"http://192.0.2.1:8080", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
	} {
		err := CheckTarget(context.Background(), tc.url, tc.allowRemote)
		if got := err == nil; got != tc.ok {
			t.Errorf("CheckTarget(%q, %v) = %v, want ok %v", tc.url, tc.allowRemote, err, tc.ok)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	got := summarize(ds)
	want := Latency{N: 100, P50: 51, P90: 91, P99: 100, Max: 100, Mean: 50.5}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (Latency{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

// TestPick: picks are consecutive available seats of one section, from the
// hot sections when asked, and nil when nothing fits.
func TestPick(t *testing.T) {
	d := &driver{}
	for i := range 40 {
		sec := "cheap"
		if i >= 30 {
			sec = "hot"
		}
		d.seats = append(d.seats, seat{Idx: i, Section: sec})
		if sec == "hot" {
			d.hot = append(d.hot, i)
		}
	}
	d.view = make([]atomicState, len(d.seats))
	for i := range d.view {
		d.view[i].Store('a')
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		p := d.pick(rng, 3, true)
		if len(p) != 3 {
			t.Fatalf("pick 3 hot: %v", p)
		}
		for k, i := range p {
			if d.seats[i].Section != "hot" || (k > 0 && i != p[k-1]+1) {
				t.Fatalf("pick 3 hot: %v is not 3 adjacent hot seats", p)
			}
		}
	}
	for i := 30; i < 40; i++ {
		d.view[i].Store('s')
	}
	if p := d.pick(rng, 2, true); p != nil {
		t.Errorf("hot section sold out, still picked %v", p)
	}
	if p := d.pick(rng, 2, false); len(p) != 2 || d.seats[p[0]].Section != "cheap" {
		t.Errorf("pick anywhere: %v", p)
	}
}

// TestPickArea: seat picks never name a place of a general-admission
// area; pickArea finds an area with places left and "" once it is gone.
func TestPickArea(t *testing.T) {
	d := &driver{areas: []gaArea{{section: "FLOOR"}}}
	for i := range 30 {
		s := seat{Idx: i, Section: "A"}
		if i >= 10 {
			s.Section, s.GA = "FLOOR", true
			d.areas[0].places = append(d.areas[0].places, i)
		}
		d.seats = append(d.seats, s)
	}
	d.view = make([]atomicState, len(d.seats))
	for i := range d.view {
		d.view[i].Store('a')
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		for _, i := range d.pick(rng, 2, false) {
			if d.seats[i].GA {
				t.Fatalf("pick named ga place %d", i)
			}
		}
	}
	if got := d.pickArea(rng); got != "FLOOR" {
		t.Errorf("pickArea = %q, want FLOOR", got)
	}
	for i := 10; i < 30; i++ {
		d.view[i].Store('s')
	}
	if got := d.pickArea(rng); got != "" {
		t.Errorf("pickArea of a sold-out floor = %q, want none", got)
	}
}

func TestQuantity(t *testing.T) {
	d := &driver{cfg: Config{SeatWeights: []float64{0, 1, 0, 1}, BotSeats: 6}}
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[int]int{}
	for range 1000 {
		seen[d.quantity(rng, false)]++
	}
	if len(seen) != 2 || seen[2] < 400 || seen[4] < 400 {
		t.Errorf("weights 0,1,0,1 gave %v", seen)
	}
	if got := d.quantity(rng, true); got != 6 {
		t.Errorf("bot quantity = %d, want 6", got)
	}
}

// TestDiverged: the seats where a view differs from the truth, merged over
// watchers without repeats, in order.
func TestDiverged(t *testing.T) {
	w := &watcher{ok: true, view: []byte("aahs")}
	got := w.diverged("ahhx", nil)
	w2 := &watcher{ok: true, view: []byte("shhs")}
	got = w2.diverged("ahhx", got)
	if want := []int{0, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("diverged = %v, want %v", got, want)
	}
}
