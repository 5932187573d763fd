// Package seal protects channel addresses (phone numbers, Telegram chat
// IDs): they are stored only sealed with AES-256-GCM and found through an
// HMAC-SHA256 blind index, each under its own key derived from
// WAYMARK_SECRET_KEY.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of WAYMARK_SECRET_KEY once base64-decoded.
const KeySize = 32

// version prefixes every sealed value so that a later scheme can coexist.
const version = 1

// ErrOpen means a sealed value could not be opened: wrong key or tampering.
var ErrOpen = errors.New("seal: cannot open sealed value (wrong key or damaged data)")

// Box seals and indexes addresses under one secret key.
type Box struct {
	aead     cipher.AEAD
	indexKey []byte
}

// New derives the sealing and index keys from a 32-byte secret.
func New(secret []byte) (*Box, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(secret))
	}
	block, err := aes.NewCipher(derive(secret, "waymark/seal/v1"))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead, indexKey: derive(secret, "waymark/index/v1")}, nil
}

// ParseKey decodes a base64 WAYMARK_SECRET_KEY.
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(k), KeySize)
	}
	return k, nil
}

// NewKey returns a fresh random key, base64-encoded.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("seal: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(k)
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts address. The channel is bound in as associated data, so a
// sealed phone number cannot be passed off as a Telegram chat ID.
func (b *Box) Seal(channel, address string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, []byte(address), []byte(channel)), nil
}

// Open decrypts a value made by Seal for the same channel.
func (b *Box) Open(channel string, sealed []byte) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != version {
		return "", ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(channel))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// Index returns the blind index of an address on a channel: the same input
// always gives the same index, and the index reveals nothing without the key.
func (b *Box) Index(channel, address string) string {
	m := hmac.New(sha256.New, b.indexKey)
	m.Write([]byte(channel))
	m.Write([]byte{0})
	m.Write([]byte(address))
	return hex.EncodeToString(m.Sum(nil))
}

// Mask shows enough of an address for a caseworker to recognise it and no
// more: "+44 7*** ***123" for a phone number, "••••4567" for a chat ID.
func Mask(address string) string {
	a := strings.TrimPrefix(address, "whatsapp:")
	digits := strings.TrimPrefix(a, "+")
	if len(digits) < 6 {
		return strings.Repeat("*", len(digits))
	}
	if !strings.HasPrefix(a, "+") {
		return "****" + digits[len(digits)-4:]
	}
	cc := 2 // most country codes shown in full or nearly; NANP (1) and 7 are one digit
	if digits[0] == '1' || digits[0] == '7' {
		cc = 1
	}
	return "+" + digits[:cc] + " " + digits[cc:cc+1] + "*** ***" + digits[len(digits)-3:]
}

// The key check: a known value sealed under the key, kept with the data,
// so that a process given another key can tell at once that it cannot
// open what is stored (after a `waymark rekey` whose new key was not
// put in place, say) instead of failing on every person it tries to reach.
const (
	checkLabel = "waymark/key-check"
	checkValue = "waymark key check v1"
)

// ErrWrongKey means the key check value was sealed under another key.
var ErrWrongKey = errors.New("seal: the key check value was sealed under another key")

// KeyCheck returns a fresh key check value for this box's key.
func (b *Box) KeyCheck() ([]byte, error) { return b.Seal(checkLabel, checkValue) }

// VerifyKeyCheck reports whether v is a key check value made under this
// box's key: nil if so, ErrWrongKey if not.
func (b *Box) VerifyKeyCheck(v []byte) error {
	got, err := b.Open(checkLabel, v)
	if err != nil || got != checkValue {
		return ErrWrongKey
	}
	return nil
}
