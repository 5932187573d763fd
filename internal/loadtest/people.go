package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Person is a simulated participant: their record's ID, the channel they
// write from, a made-up address on it, and the enrolment code that links
// it.
type Person struct {
	ID      string        `json:"id"`
	Channel store.Channel `json:"channel"` // store.SMS or store.Telegram
	Address string        `json:"address"` // +4479… or a chat ID
	Code    string        `json:"code"`
}

func (p Person) key() string {
	if p.Channel == store.Telegram {
		return "tg:" + p.Address
	}
	return smsKey(p.Address)
}

// SeedOptions say how many people to make and on which channels.
type SeedOptions struct {
	N int
	// TelegramShare is the fraction of people who write on Telegram; the
	// others use SMS.
	TelegramShare float64
	// Workers write at once; Redis gains from several, bolt does not.
	Workers int
	// Now stamps the records and starts the codes' validity.
	Now time.Time
}

// Seeder is what Seed writes: the people and their enrolment codes.
type Seeder interface {
	CreateParticipant(ctx context.Context, p store.Participant) error
	PutEnrolmentCode(ctx context.Context, c store.EnrolmentCode) error
}

// Seed creates opts.N participants with enrolment codes valid for a week,
// directly in the store, as a caseworker's enrolment would. Their addresses
// are fresh for every call, so that a store seeded twice never has two
// people on one number. Nothing is linked: the people link themselves by
// sending JOIN and their code (Driver.Link).
func Seed(ctx context.Context, st Seeder, opts SeedOptions) ([]Person, error) {
	if opts.N <= 0 || opts.N > 1_000_000 {
		return nil, errors.New("loadtest: seed between 1 and 1,000,000 people")
	}
	if opts.TelegramShare < 0 || opts.TelegramShare > 1 {
		return nil, errors.New("loadtest: the Telegram share is a fraction between 0 and 1")
	}
	opts.Workers = max(opts.Workers, 1)
	batch, err := rand.Int(rand.Reader, big.NewInt(1000))
	if err != nil {
		return nil, err
	}
	b := int(batch.Int64())
	tgEvery := 0 // every tgEvery-th person is on Telegram
	if opts.TelegramShare > 0 {
		tgEvery = max(1, int(1/opts.TelegramShare+0.5))
	}
	people := make([]Person, opts.N)
	for i := range people {
		p := Person{ID: store.NewID("p_"), Channel: store.SMS, Address: fmt.Sprintf("+447%03d%06d", b, i),
			Code: "LT" + strings.ToUpper(store.NewID(""))[:10]}
		if tgEvery > 0 && i%tgEvery == tgEvery-1 {
			p.Channel, p.Address = store.Telegram, strconv.FormatInt(5_000_000_000+int64(b)*1_000_000+int64(i), 10)
		}
		people[i] = p
	}
	next := make(chan Person)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range opts.Workers {
		wg.Go(func() {
			for p := range next {
				if err := seedOne(ctx, st, p, opts.Now); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	for _, p := range people {
		if ctx.Err() != nil {
			break
		}
		next <- p
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return people, ctx.Err()
}

func seedOne(ctx context.Context, st Seeder, p Person, now time.Time) error {
	rec := store.Participant{ID: p.ID, Label: "load " + p.ID[len(p.ID)-6:], Language: "en", TimeZone: "Europe/London",
		Status: store.Active, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateParticipant(ctx, rec); err != nil {
		return fmt.Errorf("loadtest: create participant %s: %w", p.ID, err)
	}
	code := store.EnrolmentCode{Code: p.Code, ParticipantID: p.ID, ExpiresAt: now.Add(7 * 24 * time.Hour)}
	if err := st.PutEnrolmentCode(ctx, code); err != nil {
		return fmt.Errorf("loadtest: enrolment code for %s: %w", p.ID, err)
	}
	return nil
}

// WritePeople writes people as JSON lines.
func WritePeople(w io.Writer, people []Person) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, p := range people {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadPeople reads what WritePeople wrote. A line that is not a person is
// an error naming the line.
func ReadPeople(r io.Reader) ([]Person, error) {
	var out []Person
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var p Person
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("loadtest: people file line %d: %w", line, err)
		}
		if p.ID == "" || p.Address == "" || p.Code == "" || (p.Channel != store.SMS && p.Channel != store.Telegram) {
			return nil, fmt.Errorf("loadtest: people file line %d: needs id, address, code and channel sms or telegram", line)
		}
		if p.Channel == store.Telegram {
			if _, err := strconv.ParseInt(p.Address, 10, 64); err != nil || strings.TrimLeft(p.Address, "0123456789") != "" {
				return nil, fmt.Errorf("loadtest: people file line %d: a Telegram address is a chat ID", line)
			}
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("loadtest: the people file is empty")
	}
	return out, nil
}
