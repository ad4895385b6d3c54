package main

// Sealed tokens (PROTOCOL.md, "Sealed tokens"): a cluster with a bus key
// sends the access token as `sealedAccessToken`, AES-256-GCM under a key of
// its ring, bound to the token's provider and version. Given the ring
// (`--bus-key id=file`, once per key), this consumer opens it before
// checking the signature, which covers the token in clear; a sealed token
// it cannot open is never used.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

const sealingFormat = "a256gcm"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// BusKeys is a ring: every key opens what it sealed, by the id the envelope names.
type BusKeys map[string][]byte

// String and Set make BusKeys a repeatable `--bus-key id=file` flag.
func (k BusKeys) String() string {
	ids := make([]string, 0, len(k))
	for id := range k {
		ids = append(ids, id)
	}
	return strings.Join(ids, ",")
}

func (k BusKeys) Set(spec string) error {
	id, path, ok := strings.Cut(spec, "=")
	if !ok || !keyIDPattern.MatchString(id) || path == "" {
		return fmt.Errorf("%q is not <id>=<file> with an id of 1-64 characters of A-Z a-z 0-9 _ -", spec)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	key, err := decodeKey(strings.TrimSpace(string(data)))
	if err != nil {
		return fmt.Errorf("key %s in %s: %w", id, path, err)
	}
	k[id] = key
	return nil
}

// decodeKey reads the base64 (or base64url, padded or not) of 32 bytes, as a configuration gives a key.
func decodeKey(text string) ([]byte, error) {
	for _, encoding := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := encoding.DecodeString(text); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("%d bytes; AES-256 needs 32", len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("not the base64 of 32 bytes")
}

// busAAD is what the tag covers besides the ciphertext: the envelope's header and the token's provider and version.
func busAAD(keyID, provider string, version int64) []byte {
	return []byte(sealingFormat + "." + keyID + ".tokenbus-bus:" + provider + ":" + strconv.FormatInt(version, 10))
}

// Open puts the access token of a sealed token in its place, or says why it cannot be used.
func (k BusKeys) Open(t *Token) error {
	if t.SealedAccessToken == nil {
		return nil
	}
	parts := strings.Split(*t.SealedAccessToken, ".")
	if len(parts) != 5 || parts[0] != sealingFormat || !keyIDPattern.MatchString(parts[1]) {
		return errors.New("the sealed access token is not an a256gcm envelope")
	}
	keyID := parts[1]
	key, ok := k[keyID]
	if !ok {
		return fmt.Errorf("the token is sealed with bus key %s, which this consumer was not given (--bus-key)", keyID)
	}
	iv, errIV := base64.RawURLEncoding.DecodeString(parts[2])
	ciphertext, errCT := base64.RawURLEncoding.DecodeString(parts[3])
	tag, errTag := base64.RawURLEncoding.DecodeString(parts[4])
	if errIV != nil || errCT != nil || errTag != nil || len(iv) != 12 || len(tag) != 16 {
		return errors.New("the sealed access token is not an a256gcm envelope")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	plaintext, err := gcm.Open(nil, iv, append(ciphertext, tag...), busAAD(keyID, t.Provider, t.Version))
	if err != nil {
		return fmt.Errorf("the token sealed with bus key %s does not open with the key given under that id", keyID)
	}
	// PROTOCOL.md: with sealedAccessToken, an accessToken beside it is never the real one.
	t.AccessToken = string(plaintext)
	t.SealedAccessToken = nil
	return nil
}
