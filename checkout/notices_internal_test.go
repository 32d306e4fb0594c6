package checkout

import (
	"strings"
	"testing"
	"time"
)

// FuzzNoticeToken: a mailed link's token is untrusted input. Whatever it
// is, opening it never panics, and only a token we made opens, for its own
// purpose, with the ids and expiry it was made with.
func FuzzNoticeToken(f *testing.F) {
	s := &Service{cfg: Config{SecretKey: []byte("0123456789abcdef0123456789abcdef")}}
	exp := time.Unix(1900000000, 0)
	good := s.noticeToken(purposeRefundChoice, exp, 7, 42)
	f.Add(good)
	f.Add(s.noticeToken(purposeUnsubscribe, time.Time{}, 42))
	f.Add(good[:len(good)-1] + "A")
	f.Add("." + strings.Repeat("a", 300))
	f.Fuzz(func(t *testing.T, token string) {
		ids, gotExp, ok := s.openNoticeToken(purposeRefundChoice, token, 2)
		if !ok {
			return
		}
		if token != good && s.noticeToken(purposeRefundChoice, gotExp, ids...) != token {
			t.Fatalf("%q opened as %v %v, but we would not make it", token, ids, gotExp)
		}
	})
}

// TestNoticeTokenPurposes: a token opens only for its purpose and shape.
func TestNoticeTokenPurposes(t *testing.T) {
	s := &Service{cfg: Config{SecretKey: []byte("0123456789abcdef0123456789abcdef")}}
	other := &Service{cfg: Config{SecretKey: []byte("another key of thirty-two bytes!")}}
	exp := time.Unix(1900000000, 0)
	tok := s.noticeToken(purposeRefundChoice, exp, 7, 42)
	if ids, e, ok := s.openNoticeToken(purposeRefundChoice, tok, 2); !ok || ids[0] != 7 || ids[1] != 42 || !e.Equal(exp) {
		t.Errorf("own token: %v %v %v", ids, e, ok)
	}
	for name, ok := range map[string]bool{
		"as an unsubscribe link": func() bool { _, _, ok := s.openNoticeToken(purposeUnsubscribe, tok, 1); return ok }(),
		"with another key":       func() bool { _, _, ok := other.openNoticeToken(purposeRefundChoice, tok, 2); return ok }(),
		"with one id too few":    func() bool { _, _, ok := s.openNoticeToken(purposeRefundChoice, tok, 1); return ok }(),
	} {
		if ok {
			t.Errorf("a refund token opened %s", name)
		}
	}
}
