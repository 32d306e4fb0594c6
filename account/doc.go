// Package account owns fan, staff and scanner accounts: sign-up with a slow
// password hash, sessions as random bearer tokens, and roles; and keeping
// an account: password reset, email verification and change, sign-out
// everywhere, deletion and export, and two-factor sign-in (TOTP with
// one-time recovery codes), required for staff roles.
//
// Checking a token is cheap on purpose: the token is random, so its SHA-256
// (not a password hash) is the lookup key, and recent lookups are cached in
// process: for Config.CacheTTL (minutes) while Listen hears revocations,
// for seconds while it does not. A storm of signed-in fans at sale open
// costs no hashing and no query. Every change that a cached session must
// not outlive (a sign-out, a reset, a new address, TOTP turned on, a role)
// notifies every node through Postgres, in the change's own transaction.
//
// Recovery and verification links carry signed tokens (HS256 with a key
// derived from SECRET_KEY) bound to the account state they change, so using
// one spends it without a table of used tokens. Mail goes through the outbox.
// Service is safe for concurrent use.
package account
