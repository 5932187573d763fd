package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := testBox(t, 1)
	sealed, err := b.Seal("sms", "+447700900123")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("447700900123")) {
		t.Fatal("sealed value holds the number in clear")
	}
	got, err := b.Open("sms", sealed)
	if err != nil || got != "+447700900123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRefusesWrongKeyChannelOrTampering(t *testing.T) {
	b := testBox(t, 1)
	sealed, _ := b.Seal("sms", "+447700900123")
	if _, err := testBox(t, 2).Open("sms", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong key: err = %v, want ErrOpen", err)
	}
	if _, err := b.Open("telegram", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong channel: err = %v, want ErrOpen", err)
	}
	bad := append([]byte(nil), sealed...)
	bad[len(bad)-1] ^= 1
	if _, err := b.Open("sms", bad); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered: err = %v, want ErrOpen", err)
	}
	if _, err := b.Open("sms", []byte{1, 2}); !errors.Is(err, ErrOpen) {
		t.Errorf("short: err = %v, want ErrOpen", err)
	}
}

func TestIndexIsStableAndKeyed(t *testing.T) {
	a, b := testBox(t, 1), testBox(t, 2)
	first := a.Index("sms", "+1555")
	if again := a.Index("sms", "+1555"); first != again {
		t.Error("index not stable")
	}
	if a.Index("sms", "+1555") == b.Index("sms", "+1555") {
		t.Error("index does not depend on the key")
	}
	if a.Index("sms", "+1555") == a.Index("telegram", "+1555") {
		t.Error("index does not depend on the channel")
	}
	if strings.Contains(a.Index("sms", "+15551234567"), "5551234567") {
		t.Error("index leaks the address")
	}
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey(NewKey()); err != nil {
		t.Errorf("fresh key: %v", err)
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"+447700900123":          "+44 7*** ***123",
		"whatsapp:+447700900123": "+44 7*** ***123",
		"+15551234567":           "+1 5*** ***567",
		"123456789":              "****6789",
		"123":                    "***",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyCheckOpensWithItsKeyAlone(t *testing.T) {
	b := testBox(t, 1)
	v, err := b.KeyCheck()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.VerifyKeyCheck(v); err != nil {
		t.Fatalf("its own key: %v", err)
	}
	if err := testBox(t, 2).VerifyKeyCheck(v); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("another key: err = %v, want ErrWrongKey", err)
	}
	// A sealed address is no key check value, even under the same key.
	addr, _ := b.Seal("sms", "+447700900123")
	if err := b.VerifyKeyCheck(addr); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("a sealed address: err = %v, want ErrWrongKey", err)
	}
	damaged := bytes.Clone(v)
	damaged[len(damaged)-1] ^= 1
	if err := b.VerifyKeyCheck(damaged); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("damaged: err = %v, want ErrWrongKey", err)
	}
}
