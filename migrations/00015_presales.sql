-- Presale windows: before an event's general sale, fans holding an access
-- code may shop in a window, within its sections and per-account limit
-- (docs/presales.md).

-- +goose Up
-- sections: the sections the window sells (empty: all of them).
-- shared_code: the one code everybody of the window uses, normalized
-- (upper case, no separators); NULL when the window only takes single-use
-- codes.
CREATE TABLE presales (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id              bigint NOT NULL REFERENCES events ON DELETE CASCADE,
    name                  text NOT NULL,
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    sections              text[] NOT NULL DEFAULT '{}',
    max_seats_per_account integer NOT NULL CHECK (max_seats_per_account BETWEEN 1 AND 8),
    shared_code           text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX presales_event ON presales (event_id, starts_at);
CREATE UNIQUE INDEX presales_shared_code ON presales (event_id, shared_code) WHERE shared_code IS NOT NULL;

-- Single-use codes. account_id is the account that redeemed the code: set
-- once, by a conditional UPDATE, so one account wins a race for it.
CREATE TABLE presale_codes (
    code        text PRIMARY KEY,
    presale_id  bigint NOT NULL REFERENCES presales ON DELETE CASCADE,
    account_id  bigint REFERENCES accounts,
    redeemed_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX presale_codes_presale ON presale_codes (presale_id, created_at);

-- The accounts a window lets in: one row per account that entered a valid
-- code (shared or single-use) of the window.
CREATE TABLE presale_access (
    presale_id bigint NOT NULL REFERENCES presales ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts,
    code       text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (presale_id, account_id)
);
CREATE INDEX presale_access_account ON presale_access (account_id);

-- +goose Down
DROP TABLE presale_access;
DROP TABLE presale_codes;
DROP TABLE presales;
