// Package account owns fan, admin and scanner accounts: sign-up with a slow
// password hash, sessions as random bearer tokens, and roles.
//
// Checking a token is cheap on purpose: the token is random, so its SHA-256
// (not a password hash) is the lookup key, and recent lookups are cached in
// process for a few seconds. A storm of signed-in fans at sale open costs no
// hashing. Service is safe for concurrent use.
package account
