package main

// PROTOCOL.md's "Sealed tokens" worked example, rebuilt from its JSON alone:
// the additional data, ciphertext and tag must be the document's, and the
// example must open, with the key 0x00..0x1f (public knowledge, never to be
// used), into the token of "Signatures", whose signature then verifies. A
// token moved to another version, a key it does not name, another key under
// its id, or no key at all, must not give a token.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sealedExampleJSON = `{"v":1,"token":{"provider":"project44","version":1795458490414000,` +
		`"sealedAccessToken":"a256gcm.bus-1.AAECAwQFBgcICQoL.NzbiRKCdo3b9LfI.XiLi5IUqyJ8Lg-6-4fvv3w",` +
		`"tokenType":"BEARER","issuedAt":1795458490414,"expiresAt":1795501690414,"reason":"initial"},` +
		`"signature":"HOad8djL/Buf0xr9NwoleE38R5iiw2/P6mSTQ1P4TicVV/MtddUTz46iT48cobvtmbJ3BJehX3zxX6Pp/HvmDw=="}`
	exampleBusKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	exampleAADHex = "6132353667636d2e6275732d312e746f6b656e6275732d6275733a70726f6a65637434343a31373935343538343930343134303030"
)

func sealedExample(t *testing.T) update {
	var decoded update
	if err := json.Unmarshal([]byte(sealedExampleJSON), &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
}

// exampleRing is the ring `--bus-key` reads from `id=file` specs, each file holding a key's base64.
func exampleRing(t *testing.T, keys map[string]string) BusKeys {
	ring := BusKeys{}
	for id, key := range keys {
		path := filepath.Join(t.TempDir(), id+".key")
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ring.Set(id + "=" + path); err != nil {
			t.Fatal(err)
		}
	}
	return ring
}

func TestTheSealedExampleHasTheDocumentsBytes(t *testing.T) {
	token := sealedExample(t).Token
	if got := hex.EncodeToString(busAAD("bus-1", token.Provider, token.Version)); got != exampleAADHex {
		t.Fatalf("additional data\n got %s\nwant %s", got, exampleAADHex)
	}
	parts := strings.Split(*token.SealedAccessToken, ".")
	ciphertext, _ := base64.RawURLEncoding.DecodeString(parts[3])
	tag, _ := base64.RawURLEncoding.DecodeString(parts[4])
	if hex.EncodeToString(ciphertext) != "3736e244a09da376fd2df2" || hex.EncodeToString(tag) != "5e22e2e4852ac89f0b83eebee1fbefdf" {
		t.Fatalf("ciphertext %x and tag %x are not the document's", ciphertext, tag)
	}
}

func TestTheSealedExampleOpensAndVerifies(t *testing.T) {
	decoded := sealedExample(t)
	checker := exampleChecker(t)
	checker.BusKeys = exampleRing(t, map[string]string{"bus-1": exampleBusKey})
	if err := checker.Check(decoded.Token, decoded.Signature, exampleNow); err != nil {
		t.Fatal(err)
	}
	if decoded.Token.AccessToken != "p44_example" || decoded.Token.SealedAccessToken != nil {
		t.Fatal("the opened token is not the example's")
	}
}

func TestASealedTokenThatDoesNotOpenIsRefused(t *testing.T) {
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	cases := map[string]struct {
		keys   map[string]string
		change func(*Token)
		want   string
	}{
		"no key":               {nil, func(*Token) {}, "sealed with bus key bus-1, which this consumer was not given"},
		"another key's id":     {map[string]string{"bus-2": exampleBusKey}, func(*Token) {}, "not given"},
		"another key":          {map[string]string{"bus-1": other}, func(*Token) {}, "does not open"},
		"another version":      {map[string]string{"bus-1": exampleBusKey}, func(t *Token) { t.Version-- }, "does not open"},
		"a clear token beside": {map[string]string{}, func(t *Token) { t.AccessToken = "p44_example" }, "not given"},
	}
	for name, c := range cases {
		decoded := sealedExample(t)
		c.change(decoded.Token)
		checker := Checker{Provider: "project44", BusKeys: exampleRing(t, c.keys)}
		err := checker.Check(decoded.Token, decoded.Signature, exampleNow)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
}

func TestABusKeyFileMustHold32Bytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (BusKeys{}).Set("bus-1=" + path); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Fatalf("a 16-byte key was taken: %v", err)
	}
}
