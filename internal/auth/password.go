package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/waymark-atd/waymark/internal/refusal"
)

// Params are argon2id's cost parameters. The defaults are OWASP's first
// recommendation for argon2id (2023 Password Storage Cheat Sheet): 19 MiB
// of memory, 2 passes, 1 lane, a 16-byte salt and a 32-byte key. On the
// two-core machines Waymark is sized for one hash takes some tens of
// milliseconds; a hash records its own parameters, so raising them later
// leaves existing passwords working.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams are the parameters new hashes use.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password rules: long enough to resist guessing offline if the store
// leaked, short enough that hashing stays cheap. NIST SP 800-63B asks for
// at least 8 characters and no composition rules; staff accounts that see
// people's cases get 12.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256 // bytes
)

// ErrWeakPassword says a new password breaks the rules; the message says which.
var ErrWeakPassword = refusal.New("auth", "password not accepted")

// CheckPassword says whether a new password may be used.
func CheckPassword(password, username string) error {
	switch {
	case !utf8.ValidString(password):
		return ErrWeakPassword.Detail("it is not valid text")
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return ErrWeakPassword.Detail("use at least %d characters (a few words make a good one)", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return ErrWeakPassword.Detail("use at most %d characters", MaxPasswordLen)
	case strings.TrimSpace(password) == "" || strings.EqualFold(strings.TrimSpace(password), username):
		return ErrWeakPassword.Detail("it must not be blank or the username")
	}
	return nil
}

var b64 = base64.RawStdEncoding

// HashPassword returns a PHC-format argon2id hash of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Limits on the parameters a stored hash may ask for, so that a corrupted
// or planted hash cannot make one sign-in take all the memory.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 20
)

// VerifyPassword reports whether password matches hash, in time that does
// not depend on where they differ.
func VerifyPassword(hash, password string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parseHash(hash string) (Params, []byte, []byte, error) {
	var p Params
	bad := errors.New("auth: stored password hash is not an argon2id hash")
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, bad
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, bad
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return p, nil, nil, bad
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, bad
	}
	return p, salt, key, nil
}
