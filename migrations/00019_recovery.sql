-- Account recovery and verification, and two-factor sign-in (docs/accounts.md).
--
-- email_verified_at: when the account proved it reads its address (the link
-- of the verification or email-change mail). Events may require it before a
-- hold. Accounts that existed before stay unverified: nothing proved their
-- address, and the verification mail is one click away.
--
-- totp_secret is the shared TOTP secret once enrolment is confirmed
-- (totp_enabled_at set); totp_pending_secret is one being enrolled, not yet
-- confirmed with a code. totp_last_step is the time step of the last code
-- accepted: a code is refused a second time (replayed from a shoulder or a
-- proxy log).
--
-- Recovery codes are stored as SHA-256 digests of random 80-bit codes, each
-- used at most once.
--
-- deleted_at: the account was deleted at the owner's request. Its row stays
-- (orders, tickets and the ledger point at it) with its personal data
-- replaced by a pseudonym.

-- +goose Up
ALTER TABLE accounts ADD COLUMN email_verified_at timestamptz;
ALTER TABLE accounts ADD COLUMN totp_secret text;
ALTER TABLE accounts ADD COLUMN totp_pending_secret text;
ALTER TABLE accounts ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE accounts ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN deleted_at timestamptz;
ALTER TABLE accounts ADD CONSTRAINT accounts_totp_check CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL);

CREATE TABLE recovery_codes (
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
ALTER TABLE accounts DROP CONSTRAINT accounts_totp_check;
ALTER TABLE accounts DROP COLUMN deleted_at;
ALTER TABLE accounts DROP COLUMN totp_last_step;
ALTER TABLE accounts DROP COLUMN totp_enabled_at;
ALTER TABLE accounts DROP COLUMN totp_pending_secret;
ALTER TABLE accounts DROP COLUMN totp_secret;
ALTER TABLE accounts DROP COLUMN email_verified_at;
