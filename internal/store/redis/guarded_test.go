package redis

import (
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// Child claims live in the accounts slot, apart from the records that bear
// them out; these tests hold their upkeep to what the contract needs: a
// claim no record bears out stops holding up a caseworker's training once
// it is old enough to be no write's, and a child's record with no claim
// (written before claims existed) still does.

func guardedFixture(t *testing.T) (*Store, store.Account, store.Account) {
	t.Helper()
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	cw := store.Account{ID: "cw_1", Username: "amira", Role: store.RoleCaseworker, ChildProtectionTrained: true}
	must(t, s.CreateAccount(ctx, cw))
	untrained := cw
	untrained.ChildProtectionTrained = false
	return s, cw, untrained
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestChildClaimLeftByADeadWrite(t *testing.T) {
	s, cw, untrained := guardedFixture(t)
	ctx := t.Context()
	claims := s.k.accounts().childrenOf(cw.ID)
	now, err := s.rdb.Time(ctx).Result()
	must(t, err)

	// A write that claimed and died before its record landed, a moment
	// ago: it might still be on its way, so the training stays.
	must(t, s.rdb.ZAdd(ctx, claims, goredis.Z{Score: float64(now.UnixMilli()), Member: "p_fresh"}).Err())
	if err := s.UpdateAccount(ctx, untrained); !errors.Is(err, store.ErrChildProtection) {
		t.Fatalf("untrain with a fresh claim: got %v, want ErrChildProtection", err)
	}
	// The same claim, older than any write takes: taken back.
	old := now.Add(-claimGrace - time.Minute)
	must(t, s.rdb.ZAdd(ctx, claims, goredis.Z{Score: float64(old.UnixMilli()), Member: "p_fresh"}).Err())
	must(t, s.UpdateAccount(ctx, untrained))
	if n := s.rdb.ZCard(ctx, claims).Val(); n != 0 {
		t.Fatalf("%d claims left, want none", n)
	}
}

func TestChildRecordWithoutClaim(t *testing.T) {
	s, cw, untrained := guardedFixture(t)
	ctx := t.Context()
	p := store.Participant{ID: "p_1", Label: "case 1", TimeZone: "Europe/Madrid", CaseworkerID: cw.ID, Status: store.Active, Child: true}
	must(t, s.CreateParticipant(ctx, p))
	claims := s.k.accounts().childrenOf(cw.ID)
	// As a record written before claims existed.
	must(t, s.rdb.Del(ctx, claims).Err())
	if err := s.UpdateAccount(ctx, untrained); !errors.Is(err, store.ErrChildProtection) {
		t.Fatalf("untrain with a child and no claim: got %v, want ErrChildProtection", err)
	}
	if n := s.rdb.ZCard(ctx, claims).Val(); n != 1 {
		t.Fatalf("%d claims, want the child's, made when it was found", n)
	}
	// Deleting the account takes its claims with it.
	must(t, s.DeleteAccount(ctx, cw.ID))
	if n := s.rdb.Exists(ctx, claims).Val(); n != 0 {
		t.Fatal("the claims of a deleted account are left")
	}
}
