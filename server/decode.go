package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// decodeStrict parses body into dst, refusing unknown fields (requests are
// allow-listed: a client cannot slip in a price or a status), trailing data
// and wrong types, then validates dst's `validate` tags.
func (s *Server) decodeStrict(body []byte, dst any) error {
	if err := decodeJSON(body, dst); err != nil {
		return err
	}
	return validationError(s.validate.Struct(dst))
}

func decodeJSON(body []byte, dst any) error {
	if err := refuseNUL(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		msg := "the request body is not valid JSON"
		var typeErr *json.UnmarshalTypeError
		var idErr badIDError
		switch {
		case errors.As(err, &idErr):
			msg = idErr.Error()
		case errors.As(err, &typeErr):
			msg = fmt.Sprintf("field %q has the wrong type", typeErr.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			msg = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
		case errors.Is(err, io.EOF):
			msg = "the request body is empty"
		}
		return errMalformedJSON.With("detail", msg)
	}
	if dec.More() {
		return errMalformedJSON.With("detail", "extra data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errMalformedJSON.With("detail", "extra data after the JSON value")
	}
	return nil
}

// refuseNUL refuses a body with a NUL character in any string: Postgres
// cannot store one in text and would answer with an error (a 500). Raw NUL
// bytes are not valid JSON anyway; the escape \u0000 is, and is found by
// walking the tokens, so a literal "\\u0000" (an escaped backslash) passes.
func refuseNUL(body []byte) error {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // not JSON: the strict decode says why
		}
		if str, ok := tok.(string); ok && strings.ContainsRune(str, 0) {
			return errMalformedJSON.With("detail", "strings may not contain the NUL character (\\u0000)")
		}
	}
}

// refuseNulls refuses a JSON object body with a null member: in a partial
// update a null would read as "not named" and silently change nothing.
func refuseNulls(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil // not an object: decodeJSON says why
	}
	for name, v := range fields {
		if string(bytes.TrimSpace(v)) == "null" {
			return errValidation.With("fields", map[string]string{name: "must not be null"})
		}
	}
	return nil
}

var errValidation = apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid")

// validationError turns validator's errors into a 422 naming each field.
func validationError(err error) error {
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return errValidation.Wrap(err)
	}
	fields := make(map[string]string, len(verrs))
	for _, fe := range verrs {
		fields[jsonName(fe.Namespace())] = describe(fe)
	}
	return errValidation.With("fields", fields)
}

// jsonName turns a validator namespace (Struct.Field.Sub) into a
// snake_case JSON path without the root struct.
func jsonName(ns string) string {
	parts := strings.Split(ns, ".")
	if len(parts) > 1 {
		parts = parts[1:]
	}
	for i, p := range parts {
		parts[i] = snake(p)
	}
	return strings.Join(parts, ".")
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && s[i-1] >= 'a' && s[i-1] <= 'z' {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be an email address"
	case "min", "gte":
		return "must be at least " + fe.Param()
	case "max", "lte":
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of " + fe.Param()
	case "maxbytes":
		return "must be at most " + fe.Param() + " bytes"
	case "name":
		return "must have a visible character and no control characters or line breaks"
	}
	return "is invalid (" + fe.Tag() + ")"
}

// ID is an opaque id in a request body. Clients send ids as the strings they
// received; a bare JSON number is accepted too, for scripts.
type ID int64

// UnmarshalJSON accepts "123" or 123; anything else is a type error.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return badIDError(b)
	}
	*id = ID(n)
	return nil
}

// badIDError is a value that cannot be an id of ours.
type badIDError string

func (e badIDError) Error() string { return fmt.Sprintf("%.40s is not an id", string(e)) }
