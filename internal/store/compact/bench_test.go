package compact_test

import (
	"encoding/json"
	"testing"

	"github.com/waymark-atd/waymark/internal/footprint"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// BenchmarkParticipant is the cost a turn pays to read and write a
// person's record, in the compact form and as the whole type in JSON (the
// form before), with footprint's participant:
//
//	go test -run '^$' -bench Participant -benchmem ./internal/store/compact/
func BenchmarkParticipant(b *testing.B) {
	st, err := footprint.NewState(1, footprint.Daily)
	if err != nil {
		b.Fatal(err)
	}
	p := st.Participant
	compactDoc, err := compact.EncodeParticipant(p)
	if err != nil {
		b.Fatal(err)
	}
	wholeDoc, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode/compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := compact.EncodeParticipant(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/whole", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := compact.DecodeParticipant(p.ID, compactDoc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/whole", func(b *testing.B) {
		for b.Loop() {
			var q store.Participant
			if err := json.Unmarshal(wholeDoc, &q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
