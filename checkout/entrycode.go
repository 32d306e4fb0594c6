package checkout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// EntryCodeStep is how long one rotating entry code is shown. A scanner
// accepts the codes of the step before and after as well (clock skew and
// the seconds between showing and scanning), so a code lives 45 s at most.
const EntryCodeStep = 15 * time.Second

// entryPrefix tells a rotating code from a static barcode ("id.version.mac").
const entryPrefix = "E"

// entrySeed is a ticket's own TOTP secret: HMAC of the key over the ticket
// id and version. A transfer or resale bumps the version, so the seed, and
// with it every code the previous owner saw or screenshotted, changes.
func entrySeed(key []byte, id, version string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("entry\x00" + id + "\x00" + version))
	return m.Sum(nil)
}

// entryMAC is the code of one time step: HMAC-SHA256(seed, step) cut to 80
// bits like the barcode, as in TOTP (RFC 6238) but without the decimal
// truncation, since the code travels as a QR code, not typed digits.
func entryMAC(seed []byte, step int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(step))
	m := hmac.New(sha256.New, seed)
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:barcodeMACLen])
}

// EntryCode is the rotating code of a ticket at time now,
// "E.id.version.mac", and when it stops being shown.
func EntryCode(key []byte, ticketID string, version int64, now time.Time) (code string, expires time.Time) {
	step := now.Unix() / int64(EntryCodeStep/time.Second)
	v := strconv.FormatInt(version, 10)
	code = entryPrefix + "." + ticketID + "." + v + "." + entryMAC(entrySeed(key, ticketID, v), step)
	return code, time.Unix((step+1)*int64(EntryCodeStep/time.Second), 0).UTC()
}

// VerifyEntryCode checks a rotating code at time now, accepting the steps
// before and after the current one, and returns the ticket id and version it
// names. It is a parser of untrusted input.
func VerifyEntryCode(key []byte, code string, now time.Time) (ticketID string, version int64, ok bool) {
	parts := strings.Split(code, ".")
	if len(parts) != 4 || parts[0] != entryPrefix || len(code) > 128 {
		return "", 0, false
	}
	id, err := uuid.Parse(parts[1])
	if err != nil || id.String() != parts[1] {
		return "", 0, false
	}
	version, err = strconv.ParseInt(parts[2], 10, 64)
	if err != nil || version < 1 || strconv.FormatInt(version, 10) != parts[2] {
		return "", 0, false
	}
	seed := entrySeed(key, parts[1], parts[2])
	step := now.Unix() / int64(EntryCodeStep/time.Second)
	for _, s := range []int64{step, step - 1, step + 1} {
		if hmac.Equal([]byte(entryMAC(seed, s)), []byte(parts[3])) {
			return parts[1], version, true
		}
	}
	return "", 0, false
}

// verifyAnyCode accepts a rotating code or a static barcode.
func verifyAnyCode(key []byte, code string, now time.Time) (string, int64, bool) {
	if strings.HasPrefix(code, entryPrefix+".") {
		return VerifyEntryCode(key, code, now)
	}
	return VerifyBarcode(key, code)
}
