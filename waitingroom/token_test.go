package waitingroom

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestMintTokenMatchesLibrary(t *testing.T) {
	s := New(nil, nil, nil, nil, Config{SecretKey: testSecret})
	exp := time.Unix(1_900_000_000, 0)
	got, err := s.MintToken(42, 7, exp)
	if err != nil {
		t.Fatal(err)
	}
	want, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims(42, 7, exp)).SignedString(s.tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("MintToken\n got %s\nwant %s", got, want)
	}
}

func TestVerifyToken(t *testing.T) {
	clk := &clock{}
	s := New(nil, nil, nil, nil, Config{SecretKey: testSecret, Now: clk.Now})
	other := New(nil, nil, nil, nil, Config{SecretKey: []byte("another-secret-another-secret-xx")})
	soon := time.Now().Add(time.Minute)
	mint := func(s *Service, acct, ev int64, exp time.Time) string {
		tok, err := s.MintToken(acct, ev, exp)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, tokenClaims(1, 2, soon)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, tokenClaims(1, 2, soon)).SignedString(s.tokenKey)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: tokenIssuer, Subject: "1",
		Audience: jwt.ClaimStrings{"event:2"}}).SignedString(s.tokenKey)
	valid := mint(s, 1, 2, soon)
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", valid, true},
		{"missing", "", false},
		{"expired", mint(s, 1, 2, time.Now().Add(-time.Second)), false},
		{"forged (other key)", mint(other, 1, 2, soon), false},
		{"other event", mint(s, 1, 3, soon), false},
		{"other account", mint(s, 9, 2, soon), false},
		{"alg none", none, false},
		{"other algorithm", hs512, false},
		{"no expiry", noExp, false},
		{"tampered", valid[:len(valid)-2] + "AA", false},
		{"garbage", "not.a.token", false},
	}
	for _, tt := range tests {
		err := s.VerifyToken(tt.token, 1, 2)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrNotAdmitted) {
			t.Errorf("%s: %v is not ErrNotAdmitted", tt.name, err)
		}
	}
	clk.Advance(2 * time.Minute)
	if err := s.VerifyToken(valid, 1, 2); err == nil {
		t.Error("a token past its expiry was accepted")
	}
}

// TestAdmissionLifecycle: a fan waits, is admitted (token from /queue/me),
// and the active count falls when the admission expires or is released.
func TestAdmissionLifecycle(t *testing.T) {
	f := newFixture(t, false)
	rec := newRecorder()
	s := f.service(rec, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 6000, ActiveLimit: 2, AdmissionTTLSeconds: 60})
	adm := s.NewAdmitter(ev)
	if _, err := adm.Step(ctx); err != nil {
		t.Fatal(err)
	}
	bulkJoin(t, s, ev, []int64{11, 12, 13, 14})
	if err := s.CheckAdmission(ctx, ev, 11, ""); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("hold check before admission: %v", err)
	}
	st, err := s.Me(ctx, ev, 13)
	if err != nil || st.State != StateWaiting || *st.Position != 3 || st.ETASeconds == nil {
		t.Fatalf("waiting fan: %+v %v", st, err)
	}
	f.clock.Advance(time.Second)
	res, err := adm.Step(ctx) // 100 a second, but only 2 active at once
	if err != nil || len(res.Admitted) != 2 || res.Active != 2 {
		t.Fatalf("tick: %+v %v, want two admitted (active limit)", res, err)
	}
	st, err = s.Me(ctx, ev, 11)
	if err != nil || st.State != StateAdmitted || st.AdmissionToken == "" {
		t.Fatalf("admitted fan: %+v %v", st, err)
	}
	if err := s.CheckAdmission(ctx, ev, 11, st.AdmissionToken); err != nil {
		t.Fatalf("token from /queue/me refused: %v", err)
	}
	if rec.frames[0].AdmissionToken != st.AdmissionToken {
		t.Error("the admitted frame and /queue/me disagree on the token")
	}
	f.clock.Advance(time.Second)
	if res, _ := adm.Step(ctx); len(res.Admitted) != 0 {
		t.Fatalf("admitted %v beyond the active limit", res.Admitted)
	}
	if err := s.Release(ctx, ev, 11); err != nil { // checkout finished
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if res, _ := adm.Step(ctx); len(res.Admitted) != 1 || res.Admitted[0] != 13 {
		t.Fatalf("after a release: %+v, want 13 admitted", res)
	}
	// Both admissions expire; 14 stopped polling long ago, and polls now.
	f.clock.Advance(61 * time.Second)
	if _, err := s.Me(ctx, ev, 14); err != nil {
		t.Fatal(err)
	}
	if res, _ := adm.Step(ctx); len(res.Admitted) != 1 || res.Admitted[0] != 14 || res.Active != 1 {
		t.Fatalf("after expiry: %+v, want 14 admitted and one active", res)
	}
	if st, _ := s.Me(ctx, ev, 12); st.State != StateExpired {
		t.Errorf("fan 12 after expiry: %+v", st)
	}
	if st, _ := s.Me(ctx, ev, 11); st.State != StateExpired {
		t.Errorf("fan 11 after release: %+v", st)
	}
}

// TestAdmitterSkipsSilentFans: a fan without a heartbeat in 30 s is passed
// over and the cursor moves on.
func TestAdmitterSkipsSilentFans(t *testing.T) {
	f := newFixture(t, false)
	s := f.service(nil, nil)
	ctx := context.Background()
	ev := f.event(time.Now().Add(-time.Minute), Settings{Enabled: true, AdmitPerMinute: 60})
	adm := s.NewAdmitter(ev)
	if _, err := adm.Step(ctx); err != nil {
		t.Fatal(err)
	}
	bulkJoin(t, s, ev, []int64{1, 2, 3})
	f.clock.Advance(31 * time.Second)
	if _, err := s.Me(ctx, ev, 3); err != nil { // only fan 3 is still polling
		t.Fatal(err)
	}
	res, err := adm.Step(ctx) // a budget of one fan
	if err != nil || len(res.Admitted) != 1 || res.Admitted[0] != 3 || res.Cursor != 3 {
		t.Fatalf("tick: %+v %v, want 1 and 2 skipped, 3 admitted, cursor 3", res, err)
	}
}

// BenchmarkMintToken is the admitter's cost per admitted fan for the token.
func BenchmarkMintToken(b *testing.B) {
	s := New(nil, nil, nil, nil, Config{SecretKey: testSecret})
	exp := time.Now().Add(10 * time.Minute)
	i := int64(0)
	for b.Loop() {
		i++
		if _, err := s.MintToken(i, 5, exp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyToken is the cost a hold pays for the admission check.
func BenchmarkVerifyToken(b *testing.B) {
	s := New(nil, nil, nil, nil, Config{SecretKey: testSecret})
	tok, _ := s.MintToken(1, 5, time.Now().Add(10*time.Minute))
	for b.Loop() {
		if err := s.VerifyToken(tok, 1, 5); err != nil {
			b.Fatal(err)
		}
	}
}
