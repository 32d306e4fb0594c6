-- Events people can find: a venue's city and IANA time zone (every time a
-- fan sees is in it), an event's description, artist, genre and image, and
-- the full-text search and date order the public event list needs.

-- +goose Up
ALTER TABLE venues
    ADD COLUMN city      text NOT NULL DEFAULT '',
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

-- image is a file name under MEDIA_DIR (a content hash, so its URL can be
-- cached for good); NULL when the event has none.
ALTER TABLE events
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN artist      text NOT NULL DEFAULT '',
    ADD COLUMN genre       text NOT NULL DEFAULT '',
    ADD COLUMN image       text,
    ADD COLUMN search      tsvector;

-- search covers the event's words and its venue's name and city, so one
-- GIN index answers "coldplay london". It is kept by triggers rather than a
-- generated column, which cannot read the venue. The 'simple' configuration
-- (no stemming, no stop words) lets the list match prefixes of names in any
-- language.
-- +goose StatementBegin
CREATE FUNCTION events_search_doc(e events) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('simple', coalesce(e.name, '') || ' ' || coalesce(e.artist, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(e.genre, '') || ' ' || coalesce(v.name, '') || ' ' || coalesce(v.city, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(e.description, '')), 'C')
    FROM venues v WHERE v.id = e.venue_id
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION events_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := events_search_doc(NEW);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- Only the searched columns fire it: the status and pause changes of a
-- sale do not pay for it.
CREATE TRIGGER events_search_refresh BEFORE INSERT OR UPDATE OF name, artist, genre, description, venue_id
    ON events FOR EACH ROW EXECUTE FUNCTION events_search_refresh();

-- +goose StatementBegin
CREATE FUNCTION venues_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events e SET search = events_search_doc(e) WHERE e.venue_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER venues_search_refresh AFTER UPDATE OF name, city ON venues
    FOR EACH ROW EXECUTE FUNCTION venues_search_refresh();

UPDATE events e SET search = events_search_doc(e);

CREATE INDEX events_search_idx ON events USING gin (search);
-- The list's order and its default filter (events not yet past).
CREATE INDEX events_date_idx ON events (event_date, id);
CREATE INDEX venues_city_idx ON venues (lower(city));

-- +goose Down
DROP INDEX venues_city_idx;
DROP INDEX events_date_idx;
DROP INDEX events_search_idx;
DROP TRIGGER venues_search_refresh ON venues;
DROP FUNCTION venues_search_refresh();
DROP TRIGGER events_search_refresh ON events;
DROP FUNCTION events_search_refresh();
DROP FUNCTION events_search_doc(events);
ALTER TABLE events DROP COLUMN search, DROP COLUMN image, DROP COLUMN genre, DROP COLUMN artist, DROP COLUMN description;
ALTER TABLE venues DROP COLUMN time_zone, DROP COLUMN city;
