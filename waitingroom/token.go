package waitingroom

import (
	"context"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const tokenIssuer = "boxoffice/waitingroom"

func audience(eventID int64) string { return "event:" + strconv.FormatInt(eventID, 10) }

// tokenClaims are an admission token's claims: the subject is the account,
// the audience the event.
func tokenClaims(accountID, eventID int64, expires time.Time) jwt.RegisteredClaims {
	return roomTokenClaims(accountID, RoomKey{EventID: eventID}, expires)
}

// roomTokenClaims are tokenClaims for any room: the audience names it.
func roomTokenClaims(accountID int64, room RoomKey, expires time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer:    tokenIssuer,
		Subject:   strconv.FormatInt(accountID, 10),
		Audience:  jwt.ClaimStrings{room.audience()},
		ExpiresAt: jwt.NewNumericDate(expires),
	}
}

// tokenHeader is base64url({"alg":"HS256","typ":"JWT"}), what golang-jwt
// writes for HS256.
var tokenHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// MintToken signs an admission token (HS256 JWT) for account at event,
// expiring at expires. Tokens carry no random part: the same admission
// always gives the same token, so any node can re-issue it from Redis.
//
// The claims are written by hand in exactly the bytes golang-jwt's
// NewWithClaims would produce (TestMintTokenMatchesLibrary checks it) and
// signed by golang-jwt: the admitter mints thousands a tick and reflection-
// based JSON was most of its cost.
func (s *Service) MintToken(accountID, eventID int64, expires time.Time) (string, error) {
	return s.mintRoomToken(accountID, RoomKey{EventID: eventID}, expires)
}

// mintRoomToken is MintToken for any room (its audience needs no JSON
// escaping: letters, digits and colons).
func (s *Service) mintRoomToken(accountID int64, room RoomKey, expires time.Time) (string, error) {
	claims := make([]byte, 0, 128)
	claims = append(claims, `{"iss":"`+tokenIssuer+`","sub":"`...)
	claims = strconv.AppendInt(claims, accountID, 10)
	claims = append(claims, `","aud":["`...)
	claims = append(claims, room.audience()...)
	claims = append(claims, `"],"exp":`...)
	claims = strconv.AppendInt(claims, expires.Unix(), 10)
	claims = append(claims, '}')
	signing := tokenHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	sig, err := jwt.SigningMethodHS256.Sign(signing, s.tokenKey)
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifyToken checks that token admits account to event now: signed by us
// with HS256, issued by the waiting room, for this account (subject) and
// this event (audience), not expired.
func (s *Service) VerifyToken(token string, accountID, eventID int64) error {
	return s.verifyToken(token, accountID, audience(eventID))
}

// verifyToken is VerifyToken for the room of audience aud.
func (s *Service) verifyToken(token string, accountID int64, aud string) error {
	if token == "" || len(token) > 1024 {
		return ErrNotAdmitted
	}
	_, err := jwt.ParseWithClaims(token, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return s.tokenKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithSubject(strconv.FormatInt(accountID, 10)),
		jwt.WithAudience(aud),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	if err != nil {
		return ErrNotAdmitted.Wrap(err)
	}
	return nil
}

// CheckAdmission is what a hold asks: nil when the event's room is off, else
// the token must admit account to event. It costs no Redis or Postgres round
// trip beyond the per-node settings cache, so it never slows the hold path.
func (s *Service) CheckAdmission(ctx context.Context, eventID, accountID int64, token string) error {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return err
	}
	if !r.Enabled {
		return nil
	}
	return s.VerifyToken(token, accountID, eventID)
}
