package main

// The tokenbus wire protocol (version 1) as PROTOCOL.md describes it: the
// subjects, the messages, and the timeout and retry rule for requests.

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

const protocolVersion = 1

// Token is a token as tokenbus sends it. AccessToken is a secret: it goes into
// the Authorization header and nowhere else. A cluster with a bus key sends
// SealedAccessToken instead, which BusKeys.Open turns into AccessToken.
type Token struct {
	Provider          string   `json:"provider"`
	Version           int64    `json:"version"`
	AccessToken       string   `json:"accessToken"`
	SealedAccessToken *string  `json:"sealedAccessToken,omitempty"`
	TokenType         string   `json:"tokenType"`
	IssuedAt          float64  `json:"issuedAt"`
	ExpiresAt         *float64 `json:"expiresAt,omitempty"`
	Reason            string   `json:"reason"`
}

// Expired reports whether the upstream's expiresAt, when it gave one, has passed.
func (t *Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && *t.ExpiresAt <= float64(now.UnixMilli())
}

// ProtocolError is a failure reply's error: `_tag` names it, message explains it.
type ProtocolError struct {
	Tag     string `json:"_tag"`
	Message string `json:"message"`
}

func (e *ProtocolError) Error() string { return e.Tag + ": " + e.Message }

// reply is the envelope both requests are answered with.
type reply struct {
	V                 int            `json:"v"`
	OK                bool           `json:"ok"`
	Token             *Token         `json:"token"`
	Signature         *string        `json:"signature"`
	RenewalExpectedAt *float64       `json:"renewalExpectedAt"`
	Error             *ProtocolError `json:"error"`
}

// update is what the provider's leader publishes on the updates subject.
type update struct {
	V         int     `json:"v"`
	Token     *Token  `json:"token"`
	Signature *string `json:"signature"`
}

// errNoReplica means what PROTOCOL.md says two timeouts in a row or "no
// responders" mean: no replica is running.
var errNoReplica = errors.New("no tokenbus replica answered")

// Subjects names a provider's subjects under a deployment's prefix.
type Subjects struct{ Prefix, Provider string }

func (s Subjects) Get() string          { return s.Prefix + ".token." + s.Provider + ".get" }
func (s Subjects) Unauthorized() string { return s.Prefix + ".token." + s.Provider + ".unauthorized" }
func (s Subjects) Updates() string      { return s.Prefix + ".token." + s.Provider + ".updates" }

// Requester sends get and unauthorized requests, waiting `Timeout` for each
// attempt and retrying a timeout once (a replica killed mid-request never
// answers it; the queue group gives the retry to a live one). A reply whose
// token the Checker refuses fails the request: the cluster did not send it.
type Requester struct {
	Conn     *nats.Conn
	Subjects Subjects
	Timeout  time.Duration
	Checker  Checker
}

// Reply is a successful reply: the token and, when the rate budget delays the
// next one, when it is expected.
type Reply struct {
	Token             *Token
	Signature         *string
	RenewalExpectedAt *float64
	Attempts          int
}

func (r *Requester) Get() (*Reply, error) {
	return r.request(r.Subjects.Get(), map[string]int64{"v": protocolVersion})
}

func (r *Requester) Unauthorized(version int64) (*Reply, error) {
	return r.request(r.Subjects.Unauthorized(), map[string]int64{"v": protocolVersion, "version": version})
}

func (r *Requester) request(subject string, body map[string]int64) (*Reply, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	for attempt := 1; attempt <= 2; attempt++ {
		msg, err := r.Conn.Request(subject, payload, r.Timeout)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return nil, fmt.Errorf("%w (no responders on %s)", errNoReplica, subject)
		case errors.Is(err, nats.ErrTimeout):
			continue
		case err != nil:
			return nil, fmt.Errorf("request on %s: %w", subject, err)
		}
		decoded, err := decodeReply(msg.Data)
		if err != nil {
			return nil, fmt.Errorf("reply on %s: %w", subject, err)
		}
		if err := r.Checker.Check(decoded.Token, decoded.Signature, time.Now()); err != nil {
			return nil, fmt.Errorf("reply on %s dropped: %w", subject, err)
		}
		decoded.Attempts = attempt
		return decoded, nil
	}
	return nil, fmt.Errorf("%w (two timeouts of %s on %s)", errNoReplica, r.Timeout, subject)
}

func decodeReply(data []byte) (*Reply, error) {
	var decoded reply
	if err := json.Unmarshal(data, &decoded); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if decoded.V != protocolVersion {
		return nil, fmt.Errorf("protocol version %d, this client speaks %d", decoded.V, protocolVersion)
	}
	if !decoded.OK {
		if decoded.Error == nil {
			return nil, errors.New(`"ok" is false but there is no "error"`)
		}
		return nil, decoded.Error
	}
	if decoded.Token == nil || decoded.Token.Version < 1 {
		return nil, errors.New(`"ok" is true but there is no valid "token"`)
	}
	return &Reply{Token: decoded.Token, Signature: decoded.Signature, RenewalExpectedAt: decoded.RenewalExpectedAt}, nil
}

// decodeUpdate reads an updates message; a message that is not a version 1
// update with a token is ignored (nil).
func decodeUpdate(data []byte) *update {
	var decoded update
	if json.Unmarshal(data, &decoded) != nil || decoded.V != protocolVersion {
		return nil
	}
	if decoded.Token == nil || decoded.Token.Version < 1 {
		return nil
	}
	return &decoded
}
