package account

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// The purposes of account tokens, each its own JWT audience: a token made
// for one is refused by every other.
const (
	purposeReset       = "password-reset"
	purposeVerify      = "verify-email"
	purposeEmailChange = "email-change"
	purposeSignIn      = "sign-in-second-step"
)

const tokenIssuer = "boxoffice/account"

// signInChallengeTTL is how long the second step of a sign-in may wait
// for its code.
const signInChallengeTTL = 5 * time.Minute

// ErrBadToken is the answer to any token that is not ours, is for another
// purpose, has expired or was used: the reason is not told.
var ErrBadToken = apperr.E(apperr.Gone, "invalid_token", "this link or code request is invalid, expired or already used: ask for a new one")

// tokenClaims are an account token's claims: the subject is the account,
// the audience the purpose. State is a digest of the account state the
// token was made against (the password hash for a reset, the address for
// a verification): changing that state, which using the token does, spends
// every token made before, so no server-side list of used tokens is kept.
type tokenClaims struct {
	jwt.RegisteredClaims
	Email string `json:"email,omitempty"`
	State string `json:"st"`
}

// derive gives each use of SECRET_KEY its own key.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// stateDigest is the State claim of state, keyed so the token reveals
// nothing of the password hash it names.
func (s *Service) stateDigest(state string) string {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// errNoSecret: the service was built without Config.SecretKey.
var errNoSecret = errors.New("account: no SecretKey configured: recovery tokens cannot be signed")

// mintToken signs a token of purpose for accountID (HS256 JWT), bound to
// state and valid for ttl.
func (s *Service) mintToken(purpose string, accountID int64, email, state string, ttl time.Duration) (string, error) {
	if len(s.cfg.SecretKey) == 0 {
		return "", errNoSecret
	}
	now := time.Now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   strconv.FormatInt(accountID, 10),
			Audience:  jwt.ClaimStrings{purpose},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Email: email,
		State: s.stateDigest(state),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.tokenKey)
}

// parseToken checks token's signature (golang-jwt compares in constant
// time), issuer, purpose and expiry, and returns its account and claims.
func (s *Service) parseToken(purpose, token string) (int64, tokenClaims, error) {
	var c tokenClaims
	if len(s.cfg.SecretKey) == 0 || token == "" || len(token) > 2048 {
		return 0, c, ErrBadToken
	}
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.tokenKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(purpose),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return 0, c, ErrBadToken.Wrap(err)
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return 0, c, ErrBadToken.Wrap(err)
	}
	return id, c, nil
}

// stateMatches reports, in constant time, whether claims were made against
// state.
func (s *Service) stateMatches(c tokenClaims, state string) bool {
	return subtle.ConstantTimeCompare([]byte(c.State), []byte(s.stateDigest(state))) == 1
}
