package main

// PROTOCOL.md's worked example, rebuilt from its JSON alone: the canonical
// bytes and the signature must be the ones the document (and the replicas)
// give, with RFC 8032's first test key (public knowledge, never to be used).

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const (
	exampleJSON = `{"v":1,"token":{"provider":"project44","version":1795458490414000,"accessToken":"p44_example",` +
		`"tokenType":"BEARER","issuedAt":1795458490414,"expiresAt":1795501690414,"reason":"initial"},` +
		`"signature":"HOad8djL/Buf0xr9NwoleE38R5iiw2/P6mSTQ1P4TicVV/MtddUTz46iT48cobvtmbJ3BJehX3zxX6Pp/HvmDw=="}`
	exampleHex = "746f6b656e6275732f746f6b656e2f7631000000000970726f6a6563743434000660f5c187b3b0" +
		"0000000b7034345f6578616d706c6500000006424541524552427a209aa602e00001427a20c3d8e2e00000000007696e697469616c"
	examplePublicKey = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
)

func exampleUpdate(t *testing.T) update {
	var decoded update
	if err := json.Unmarshal([]byte(exampleJSON), &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
}

func exampleChecker(t *testing.T) Checker {
	path := filepath.Join(t.TempDir(), "verify-key.pem")
	if err := os.WriteFile(path, []byte(examplePublicKey), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := loadVerifyKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return Checker{Key: key, Provider: "project44"}
}

// The example's own clock: its version is its issuedAt in microseconds.
var exampleNow = time.UnixMilli(1795458490414)

func TestCanonicalBytesOfTheExample(t *testing.T) {
	if got := hex.EncodeToString(canonicalBytes(exampleUpdate(t).Token)); got != exampleHex {
		t.Fatalf("canonical bytes\n got %s\nwant %s", got, exampleHex)
	}
}

func TestTheExampleVerifies(t *testing.T) {
	decoded := exampleUpdate(t)
	if err := exampleChecker(t).Check(decoded.Token, decoded.Signature, exampleNow); err != nil {
		t.Fatal(err)
	}
}

func TestAChangedTokenDoesNot(t *testing.T) {
	decoded := exampleUpdate(t)
	decoded.Token.Version++
	if exampleChecker(t).Check(decoded.Token, decoded.Signature, exampleNow) == nil {
		t.Fatal("a token whose version changed still verified")
	}
	decoded = exampleUpdate(t)
	if exampleChecker(t).Check(decoded.Token, nil, exampleNow) == nil {
		t.Fatal("an unsigned token verified")
	}
}

func TestAVersionFarAheadIsRefusedWithoutAKey(t *testing.T) {
	decoded := exampleUpdate(t)
	checker := Checker{Provider: "project44"}
	if err := checker.Check(decoded.Token, nil, exampleNow); err != nil {
		t.Fatal(err)
	}
	if checker.Check(decoded.Token, nil, exampleNow.Add(-25*time.Hour)) == nil {
		t.Fatal("a version more than a day ahead of the clock was taken")
	}
	if (Checker{Provider: "other"}).Check(decoded.Token, nil, exampleNow) == nil {
		t.Fatal("another provider's token was taken")
	}
}
