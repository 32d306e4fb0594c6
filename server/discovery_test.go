package server_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

type listedEvent struct {
	ID          string
	Name        string
	Artist      string
	Genre       string
	Description string
	TimeZone    string `json:"time_zone"`
	ImageURL    string `json:"image_url"`
	Venue       struct {
		City     string
		TimeZone string `json:"time_zone"`
	}
}

// discoveryVenue creates a venue over the admin API in a city of its own
// (so the test's lists hold only its events) and returns its id.
func (e *env) discoveryVenue(admin, city, tz string) string {
	e.t.Helper()
	r := e.do("POST", "/api/admin/venues", admin, map[string]any{"name": "Hall " + city, "preset": "theater", "city": city, "time_zone": tz})
	if r.status != 201 {
		e.t.Fatalf("create venue: %d %s", r.status, r.body)
	}
	var v struct {
		ID, City string
		TimeZone string `json:"time_zone"`
	}
	r.json(e.t, &v)
	if v.City != city || v.TimeZone != tz {
		e.t.Fatalf("venue = %+v, want %s in %s", v, city, tz)
	}
	return v.ID
}

func (e *env) discoveryEvent(admin, venue, name, artist, genre, description string, at time.Time) string {
	e.t.Helper()
	r := e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": venue, "name": name, "artist": artist,
		"genre": genre, "description": description, "event_date": at, "sale_opens": at.AddDate(0, 0, -20),
		"prices": map[string]int64{"default": 5000}})
	if r.status != 201 {
		e.t.Fatalf("create event: %d %s", r.status, r.body)
	}
	var ev listedEvent
	r.json(e.t, &ev)
	return ev.ID
}

// list fetches every page of an event list query, following the Link
// header; it returns the names in order and the number of pages.
func (e *env) listAll(query string) ([]string, int) {
	e.t.Helper()
	var names []string
	pages := 0
	next := "/api/events?" + query
	for next != "" {
		r := e.do("GET", next, "", nil)
		if r.status != 200 {
			e.t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		var evs []listedEvent
		r.json(e.t, &evs)
		for _, ev := range evs {
			names = append(names, ev.Name)
		}
		pages++
		next = ""
		if link := r.header.Get("Link"); link != "" {
			m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link)
			if m == nil {
				e.t.Fatalf("Link = %q", link)
			}
			next = m[1]
		}
		if pages > 20 {
			e.t.Fatal("the pages do not end")
		}
	}
	return names, pages
}

// TestEventDiscovery: the event list searches, filters by city and date,
// pages with a cursor, and leaves past events out; events and venues carry
// their new fields.
func TestEventDiscovery(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	tag := testkit.RandomHex(4)
	city := "Lisboa" + tag
	venue := e.discoveryVenue(admin, city, "Europe/Lisbon")
	other := e.discoveryVenue(admin, "Porto"+tag, "Europe/Lisbon")
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 10).Add(20 * time.Hour)
	e.discoveryEvent(admin, venue, "Fado Night", "Mariza", "fado", "An evening of fado.\n\nDoors at seven.", day)
	e.discoveryEvent(admin, venue, "Jazz Club", "Trio Azul", "jazz", "Standards and originals.", day.AddDate(0, 0, 1))
	e.discoveryEvent(admin, venue, "Rock Show", "Xutos", "rock", "Loud.", day.AddDate(0, 0, 2))
	e.discoveryEvent(admin, venue, "Old Show", "Mariza", "fado", "Already played.", time.Now().Add(-48*time.Hour))
	e.discoveryEvent(admin, other, "Porto Fado", "Mariza", "fado", "", day)

	tests := []struct {
		query string
		want  []string
	}{
		{"city=" + city, []string{"Fado Night", "Jazz Club", "Rock Show"}},
		{"city=" + strings.ToUpper(city), []string{"Fado Night", "Jazz Club", "Rock Show"}},
		{"city=" + city + "&q=mariza", []string{"Fado Night"}},
		{"city=" + city + "&q=MARI", []string{"Fado Night"}},             // a prefix, any case
		{"city=" + city + "&q=standards", []string{"Jazz Club"}},         // the description
		{"city=" + city + "&q=azul+jazz", []string{"Jazz Club"}},         // every word
		{"city=" + city + "&q=azul+rock", nil},                           // every word, not any
		{"q=" + strings.ToLower(city) + "+fado", []string{"Fado Night"}}, // the venue's city, searched
		{"q=porto" + tag, []string{"Porto Fado"}},
		{"city=" + city + "&from=" + day.AddDate(0, 0, 1).Format(time.DateOnly), []string{"Jazz Club", "Rock Show"}},
		{"city=" + city + "&to=" + day.AddDate(0, 0, 1).Format(time.DateOnly), []string{"Fado Night", "Jazz Club"}},
		{"city=" + city + "&from=" + url.QueryEscape(time.Now().AddDate(0, 0, -7).Format(time.RFC3339)), []string{"Old Show", "Fado Night", "Jazz Club", "Rock Show"}},
		{"city=" + city + "&q=%22%3B%27%29+%7C%21", nil}, // punctuation only: no words, no filter, no error
		{"city=" + city + "&status=cancelled", nil},
	}
	for _, tt := range tests {
		got, _ := e.listAll(tt.query)
		if tt.query == "city="+city+"&q=%22%3B%27%29+%7C%21" {
			tt.want = []string{"Fado Night", "Jazz Club", "Rock Show"}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET /api/events?%s = %q, want %q", tt.query, got, tt.want)
		}
	}

	// limit=1 pages through the same events, one page each and an empty
	// Link on the last.
	got, pages := e.listAll("city=" + city + "&limit=1")
	if fmt.Sprint(got) != "[Fado Night Jazz Club Rock Show]" || pages != 3 {
		t.Errorf("paged by 1: %q in %d pages", got, pages)
	}
	got, pages = e.listAll("city=" + city + "&limit=2")
	if len(got) != 3 || pages != 2 {
		t.Errorf("paged by 2: %q in %d pages", got, pages)
	}

	// The detail carries the new fields, the venue's zone twice.
	var detail listedEvent
	e.do("GET", "/api/events?city="+city+"&q=jazz", "", nil).json(t, &[]*listedEvent{&detail})
	r := e.do("GET", "/api/events/"+detail.ID, "", nil)
	r.json(t, &detail)
	if detail.Artist != "Trio Azul" || detail.Genre != "jazz" || detail.TimeZone != "Europe/Lisbon" ||
		detail.Venue.TimeZone != "Europe/Lisbon" || detail.Venue.City != city || detail.ImageURL != "" {
		t.Errorf("event detail = %+v", detail)
	}
	// An admin edits the info; the search follows.
	if r := e.do("PATCH", "/api/admin/events/"+detail.ID, admin, map[string]any{"artist": "Quarteto Verde", "description": ""}); r.status != 200 {
		t.Fatalf("PATCH info: %d %s", r.status, r.body)
	}
	if got, _ := e.listAll("city=" + city + "&q=verde"); fmt.Sprint(got) != "[Jazz Club]" {
		t.Errorf("search after the artist changed: %q", got)
	}
	if got, _ := e.listAll("city=" + city + "&q=standards"); len(got) != 0 {
		t.Errorf("search after the description was cleared: %q", got)
	}

	// The status filter runs before a page is cut (the list once took 500
	// events and filtered after): with the first event cancelled, the
	// first on-sale page of one is the second event.
	fado, _ := e.listAll("city=" + city + "&q=fado+night")
	if len(fado) != 1 {
		t.Fatalf("fado night: %q", fado)
	}
	var first []listedEvent
	e.do("GET", "/api/events?city="+city+"&limit=1", "", nil).json(t, &first)
	if r := e.do("PATCH", "/api/admin/events/"+first[0].ID, admin, map[string]any{"status": "cancel"}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/events?city="+city+"&status=on_sale&limit=1", "", nil)
	var onSale []listedEvent
	r.json(t, &onSale)
	if len(onSale) != 1 || onSale[0].Name != "Jazz Club" || r.header.Get("X-Next-Cursor") == "" {
		t.Errorf("first on-sale page: %+v, next %q", onSale, r.header.Get("X-Next-Cursor"))
	}
	if got, _ := e.listAll("city=" + city + "&status=cancelled"); fmt.Sprint(got) != "[Fado Night]" {
		t.Errorf("cancelled: %q", got)
	}

	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "from=tomorrow", "to=2026-13-01", "after=!!", "after=" + url.QueryEscape("bm90LWEtY3Vyc29y"), "status=bogus", "q=" + strings.Repeat("a", 201)} {
		if r := e.do("GET", "/api/events?"+bad, "", nil); r.status != 422 {
			t.Errorf("GET /api/events?%s: %d %s, want 422", bad, r.status, r.body)
		}
	}
	for _, body := range []map[string]any{
		{"name": "Nowhere", "preset": "theater", "time_zone": "Mars/Olympus"},
		{"name": "Nowhere", "preset": "theater", "time_zone": "Local"},
		{"name": "Nowhere", "preset": "theater", "time_zone": "../../etc/passwd"},
	} {
		if r := e.do("POST", "/api/admin/venues", admin, body); r.status != 422 || r.errCode(t) != "invalid_time_zone" {
			t.Errorf("venue in %v: %d %s, want 422 invalid_time_zone", body["time_zone"], r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/admin/events", admin, map[string]any{"venue_id": venue, "name": "Bad", "description": "a\x00b",
		"event_date": day, "sale_opens": day.Add(-time.Hour), "prices": map[string]int64{"default": 1}}); r.status != 422 && r.status != 400 {
		t.Errorf("description with a control character: %d %s", r.status, r.body)
	}
}

// testImage encodes a w×h image in a format.
func testImage(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEventImage: an admin uploads an event's image as a raw body or a
// form; it is served re-encoded, scaled to 1600 px, at a content-hashed
// URL cached for good. Too big is 413, not an image 422, a fan 403.
func TestEventImage(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	event, _ := e.event(1, 1, 4)
	path := "/api/admin/events/" + event + "/image"

	wide := testImage(t, "png", 2400, 300)
	r := e.do("POST", path, admin, string(wide), "Content-Type", "image/png")
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var ev listedEvent
	r.json(t, &ev)
	if !regexp.MustCompile(`^/api/media/[0-9a-f]{32}\.jpg$`).MatchString(ev.ImageURL) {
		t.Fatalf("image_url = %q", ev.ImageURL)
	}
	img := e.do("GET", ev.ImageURL, "", nil)
	if img.status != 200 || img.header.Get("Content-Type") != "image/jpeg" || !strings.Contains(img.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET image: %d %q %q", img.status, img.header.Get("Content-Type"), img.header.Get("Cache-Control"))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img.body))
	if err != nil || format != "jpeg" || cfg.Width != 1600 || cfg.Height != 200 {
		t.Errorf("served image: %s %dx%d %v, want a 1600x200 jpeg", format, cfg.Width, cfg.Height, err)
	}
	var detail listedEvent
	e.do("GET", "/api/events/"+event, "", nil).json(t, &detail)
	if detail.ImageURL != ev.ImageURL {
		t.Errorf("detail image_url = %q, want %q", detail.ImageURL, ev.ImageURL)
	}

	// A form upload of a small JPEG is kept at its size.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("image", "poster.jpg")
	fw.Write(testImage(t, "jpeg", 320, 200))
	mw.Close()
	r = e.do("POST", path, admin, form.String(), "Content-Type", mw.FormDataContentType())
	if r.status != 200 {
		t.Fatalf("form upload: %d %s", r.status, r.body)
	}
	r.json(t, &ev)
	img = e.do("GET", ev.ImageURL, "", nil)
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(img.body)); err != nil || cfg.Width != 320 {
		t.Errorf("form image: %dx%d %v", cfg.Width, cfg.Height, err)
	}

	_, fanToken := e.signUp("fan")
	for _, tt := range []struct {
		name, token, body, ctype string
		status                   int
	}{
		{"a fan", fanToken, string(wide), "image/png", 403},
		{"anonymous", "", string(wide), "image/png", 401},
		{"not an image", admin, "<svg onload=alert(1)></svg>", "image/png", 422},
		{"HTML", admin, "<html><script>alert(1)</script></html>", "text/html", 422},
		{"empty", admin, "", "image/png", 422},
		{"too big", admin, strings.Repeat("x", 11<<20), "image/png", 413},
	} {
		if r := e.do("POST", path, tt.token, tt.body, "Content-Type", tt.ctype); r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	if r := e.do("POST", "/api/admin/events/99999999/image", admin, string(wide), "Content-Type", "image/png"); r.status != 404 {
		t.Errorf("unknown event: %d", r.status)
	}
	for _, p := range []string{"/api/media/nope.jpg", "/api/media/" + strings.Repeat("0", 32) + ".jpg", "/api/media/..%2f..%2fetc%2fpasswd"} {
		if r := e.do("GET", p, "", nil); r.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
}

// TestOrderCalendar: an order's .ics is its owner's alone, and is valid
// RFC 5545: CRLF lines of at most 75 octets, escaped text, UTC times.
func TestOrderCalendar(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	owner := e.fan("owner")
	e.buy(event, seats[0], owner.token)
	var orders []struct {
		ID        string
		EventDate time.Time `json:"event_date"`
		TimeZone  string    `json:"time_zone"`
	}
	e.do("GET", "/api/orders", owner.token, nil).json(t, &orders)
	if len(orders) != 1 || orders[0].TimeZone != "UTC" {
		t.Fatalf("orders = %+v", orders)
	}
	path := "/api/orders/" + orders[0].ID + "/calendar.ics"
	r := e.do("GET", path, owner.token, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET calendar: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	ics := string(r.body)
	if !strings.HasSuffix(ics, "\r\n") || strings.Contains(strings.ReplaceAll(ics, "\r\n", ""), "\n") {
		t.Errorf("lines must end in CRLF and only there:\n%q", ics)
	}
	for _, line := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
	}
	start := "DTSTART:" + orders[0].EventDate.UTC().Format("20060102T150405Z") + "\r\n"
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "BEGIN:VEVENT\r\n", start,
		"UID:order-" + orders[0].ID + "@boxoffice\r\n", "STATUS:CONFIRMED\r\n", "END:VEVENT\r\nEND:VCALENDAR\r\n"} {
		if !strings.Contains(ics, want) {
			t.Errorf("calendar lacks %q:\n%s", want, ics)
		}
	}
	stranger := e.fan("stranger")
	for _, p := range []string{path, "/api/orders/not-a-uuid/calendar.ics", "/api/orders/00000000-0000-0000-0000-000000000000/calendar.ics"} {
		if r := e.do("GET", p, stranger.token, nil); r.status != 404 {
			t.Errorf("GET %s as another fan: %d, want 404", p, r.status)
		}
	}
	if r := e.do("GET", path, "", nil); r.status != 401 {
		t.Errorf("anonymous: %d, want 401", r.status)
	}
}
