-- Accounts in the form the code now writes (account.NormalizeEmail and the
-- name check of server/hardening.go):
--
--   - emails trimmed, Unicode NFKC and lower case, so a lookalike spelling
--     (a decomposed é, a fullwidth letter) finds the same account. A row
--     whose normal form another row already has is left as it is: two
--     accounts cannot be merged by a migration;
--   - names without control characters or line breaks (a line break in a
--     name failed every confirmation email of its account and was copied
--     into other fans' transfer emails); a name left blank becomes "Fan".

-- +goose Up
UPDATE accounts a SET email = lower(normalize(btrim(a.email), NFKC))
WHERE a.email <> lower(normalize(btrim(a.email), NFKC))
  AND NOT EXISTS (SELECT 1 FROM accounts b
                  WHERE b.id <> a.id AND lower(normalize(btrim(b.email), NFKC)) = lower(normalize(btrim(a.email), NFKC)));
UPDATE accounts SET name = btrim(regexp_replace(name, '[[:cntrl:]\u2028\u2029]+', ' ', 'g'))
WHERE name ~ '[[:cntrl:]\u2028\u2029]';
UPDATE accounts SET name = 'Fan' WHERE btrim(name) = '';

-- +goose Down
-- Nothing to undo: the old forms are not kept.
SELECT 1;
