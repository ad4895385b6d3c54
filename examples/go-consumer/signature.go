package main

// Which tokens came from the cluster (PROTOCOL.md, "Signatures"): the
// replicas sign each token's canonical bytes with the cluster's Ed25519
// key; given its public half, this consumer uses only tokens it verifies.
// Whatever the key, a token of another provider than asked for, or with a
// version far ahead of the clock, is never used.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"time"
)

// signatureTag starts every canonical form, followed by a 0x00 byte.
const signatureTag = "tokenbus/token/v1"

// versionSkew is how far ahead of this clock a version may be: versions are
// the leader's clock in microseconds at most.
const versionSkew = 24 * time.Hour

// canonicalBytes is what the signature covers: strings as their UTF-8 length
// (uint32, big-endian) and bytes, the version as a big-endian uint64, times
// as big-endian IEEE 754 doubles (-0 as 0), an absent expiresAt as 0x00 and
// a present one as 0x01 and the double.
func canonicalBytes(t *Token) []byte {
	var b bytes.Buffer
	b.WriteString(signatureTag)
	b.WriteByte(0)
	writeString(&b, t.Provider)
	_ = binary.Write(&b, binary.BigEndian, uint64(t.Version))
	writeString(&b, t.AccessToken)
	writeString(&b, t.TokenType)
	writeFloat(&b, t.IssuedAt)
	if t.ExpiresAt == nil {
		b.WriteByte(0)
	} else {
		b.WriteByte(1)
		writeFloat(&b, *t.ExpiresAt)
	}
	writeString(&b, t.Reason)
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	_ = binary.Write(b, binary.BigEndian, uint32(len(s)))
	b.WriteString(s)
}

func writeFloat(b *bytes.Buffer, v float64) {
	if v == 0 {
		v = 0 // -0 and 0 are one number in JSON
	}
	_ = binary.Write(b, binary.BigEndian, math.Float64bits(v))
}

// loadVerifyKey reads the cluster's public key (PEM, as `tokenbus keygen` prints it).
func loadVerifyKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	public, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return public, nil
}

// Checker decides whether a token may be used. Key is nil when the consumer
// was given none: it then takes unsigned tokens (PROTOCOL.md says what that
// exposes). BusKeys open sealed tokens (sealing.go); without them a sealed
// token is refused.
type Checker struct {
	Key      ed25519.PublicKey
	Provider string
	BusKeys  BusKeys
}

// Check returns why token (with its signature, nil when absent) may not be
// used, or nil; a sealed token is opened in place first, since the
// signature covers it in clear.
func (c Checker) Check(token *Token, signature *string, now time.Time) error {
	if token.Provider != c.Provider {
		return fmt.Errorf("a token of provider %q, not %q", token.Provider, c.Provider)
	}
	if token.Version > (now.UnixMilli()+versionSkew.Milliseconds())*1000 {
		return fmt.Errorf("version %d is far ahead of this clock", token.Version)
	}
	if err := c.BusKeys.Open(token); err != nil {
		return err
	}
	if c.Key == nil {
		return nil
	}
	if signature == nil {
		return errors.New("the token is not signed")
	}
	raw, err := base64.StdEncoding.DecodeString(*signature)
	if err != nil || !ed25519.Verify(c.Key, canonicalBytes(token), raw) {
		return errors.New("the token's signature does not verify with the cluster's key")
	}
	return nil
}
