package web

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// readCounter counts the store reads the server makes, by method, so
// that a test can see what one request reads.
type readCounter struct {
	store.Store
	mu    sync.Mutex
	reads map[string]int
}

func (r *readCounter) note(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads[method]++
}

// take returns the reads since the last take and starts again.
func (r *readCounter) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reads
	r.reads = map[string]int{}
	return out
}

// wholeTable are the reads whose cost grows with the whole programme:
// no request may make one. ListAccounts is not among them: accounts are
// a programme's staff, a few dozen at most, and pages name them.
var wholeTable = []string{"ListParticipants", "ListLinks", "ListAttention", "ListAudit"}

func (r *readCounter) ListParticipants(ctx context.Context) ([]store.Participant, error) {
	r.note("ListParticipants")
	return r.Store.ListParticipants(ctx)
}

func (r *readCounter) ListLinks(ctx context.Context) ([]store.Link, error) {
	r.note("ListLinks")
	return r.Store.ListLinks(ctx)
}

func (r *readCounter) ListAttention(ctx context.Context, openOnly bool) ([]store.AttentionItem, error) {
	r.note("ListAttention")
	return r.Store.ListAttention(ctx, openOnly)
}

func (r *readCounter) ListAudit(ctx context.Context, pid string, limit int) ([]store.AuditEntry, error) {
	r.note("ListAudit")
	return r.Store.ListAudit(ctx, pid, limit)
}

func (r *readCounter) ListAccounts(ctx context.Context) ([]store.Account, error) {
	r.note("ListAccounts")
	return r.Store.ListAccounts(ctx)
}

func (r *readCounter) GetParticipant(ctx context.Context, id string) (store.Participant, error) {
	r.note("GetParticipant")
	return r.Store.GetParticipant(ctx, id)
}

func (r *readCounter) GetParticipants(ctx context.Context, ids []string) ([]store.Participant, error) {
	r.note("GetParticipants")
	return r.Store.GetParticipants(ctx, ids)
}

func (r *readCounter) PageParticipants(ctx context.Context, cursor string, limit int) ([]store.Participant, string, error) {
	r.note("PageParticipants")
	return r.Store.PageParticipants(ctx, cursor, limit)
}

func (r *readCounter) ParticipantsOf(ctx context.Context, cw string) ([]store.Participant, error) {
	r.note("ParticipantsOf")
	return r.Store.ParticipantsOf(ctx, cw)
}

func (r *readCounter) CaseloadIDs(ctx context.Context, cw string) ([]string, error) {
	r.note("CaseloadIDs")
	return r.Store.CaseloadIDs(ctx, cw)
}

func (r *readCounter) PageCaseload(ctx context.Context, cw, cursor string, limit int) ([]store.Participant, string, error) {
	r.note("PageCaseload")
	return r.Store.PageCaseload(ctx, cw, cursor, limit)
}

func (r *readCounter) Caseloads(ctx context.Context) (map[string]store.Caseload, error) {
	r.note("Caseloads")
	return r.Store.Caseloads(ctx)
}

func (r *readCounter) LinksOf(ctx context.Context, pid string) ([]store.Link, error) {
	r.note("LinksOf")
	return r.Store.LinksOf(ctx, pid)
}

func (r *readCounter) CheckInsOf(ctx context.Context, pid string, since time.Time) ([]store.CheckIn, error) {
	r.note("CheckInsOf")
	return r.Store.CheckInsOf(ctx, pid, since)
}

func (r *readCounter) WindowsOf(ctx context.Context, pid string, since time.Time) ([]store.Window, error) {
	r.note("WindowsOf")
	return r.Store.WindowsOf(ctx, pid, since)
}

func (r *readCounter) HistoryOf(ctx context.Context, pid string, since time.Time) (store.History, error) {
	r.note("HistoryOf")
	return r.Store.HistoryOf(ctx, pid, since)
}

func (r *readCounter) GetAttention(ctx context.Context, id string) (store.AttentionItem, error) {
	r.note("GetAttention")
	return r.Store.GetAttention(ctx, id)
}

func (r *readCounter) PageAttention(ctx context.Context, q store.AttentionQuery) ([]store.AttentionItem, string, error) {
	r.note("PageAttention")
	return r.Store.PageAttention(ctx, q)
}

func (r *readCounter) AttentionOf(ctx context.Context, pid string) ([]store.AttentionItem, error) {
	r.note("AttentionOf")
	return r.Store.AttentionOf(ctx, pid)
}

func (r *readCounter) AttentionOfMany(ctx context.Context, pids []string, openOnly bool) ([]store.AttentionItem, error) {
	r.note("AttentionOfMany")
	return r.Store.AttentionOfMany(ctx, pids, openOnly)
}

func (r *readCounter) PageAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, string, error) {
	r.note("PageAudit")
	return r.Store.PageAudit(ctx, q)
}

func (r *readCounter) GetAppointment(ctx context.Context, id string) (store.Appointment, error) {
	r.note("GetAppointment")
	return r.Store.GetAppointment(ctx, id)
}

func (r *readCounter) AppointmentsOf(ctx context.Context, pid string) ([]store.Appointment, error) {
	r.note("AppointmentsOf")
	return r.Store.AppointmentsOf(ctx, pid)
}

func (r *readCounter) GetAccount(ctx context.Context, id string) (store.Account, error) {
	r.note("GetAccount")
	return r.Store.GetAccount(ctx, id)
}

func (r *readCounter) APITokensOf(ctx context.Context, id string) ([]store.APIToken, error) {
	r.note("APITokensOf")
	return r.Store.APITokensOf(ctx, id)
}

// readsOf renders reads as "Method×n", sorted, for messages.
func readsOf(reads map[string]int) string {
	var parts []string
	for m, n := range reads {
		parts = append(parts, fmt.Sprintf("%s×%d", m, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func totalReads(reads map[string]int) int {
	n := 0
	for _, v := range reads {
		n += v
	}
	return n
}

// No caseworker page or API call reads a whole table, and none reads
// more as the programme grows: each request is made with a few people in
// the programme and again with many more, as an administrator and as a
// caseworker, and must make no whole-table read and the same reads both
// times. The report and the CSV downloads are left out: they are over
// the whole caseload by nature (docs/performance.md).
func TestNoRequestReadsAWholeTable(t *testing.T) {
	t.Parallel()
	counter := &readCounter{reads: map[string]int{}}
	e := newCaseworkerEnv(t, envOptions{wrap: func(st store.Store) store.Store { counter.Store = st; return counter }})
	seed := func(n int) {
		for i := range n {
			cw := e.cara
			if i%2 == 1 {
				cw = e.carl
			}
			p := e.participant(fmt.Sprintf("P%03d", i), cw)
			e.attentionItem(p, store.AttentionMissed)
			if err := e.st.AppendAudit(t.Context(), store.AuditEntry{ID: store.NewID("a_"), At: e.clock.Now(), Actor: cw.ID, Action: "participant_viewed", ParticipantID: p.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	seed(6)
	watched := e.participant("Watched", e.cara)
	it := e.attentionItem(watched, store.AttentionCallback)
	pages := []string{"/attention", "/attention?kind=callback_request", "/attention?caseworker=" + e.carl.ID, "/attention?caseworker=none", "/participants", "/participants?q=p00",
		"/participants/" + watched.ID, "/audit", "/audit?participant=" + watched.ID + "&action=participant_viewed", "/accounts", "/account"}
	apis := []string{"/api/v1/participants", "/api/v1/participants?q=watched", "/api/v1/participants/" + watched.ID,
		"/api/v1/participants/" + watched.ID + "/appointments", "/api/v1/participants/" + watched.ID + "/checkins",
		"/api/v1/participants/" + watched.ID + "/windows", "/api/v1/attention", "/api/v1/attention?open=false&caseworker=" + e.cara.ID,
		"/api/v1/attention?kind=callback_request",
		"/api/v1/audit?actor=" + e.cara.ID, "/api/v1/accounts", "/api/v1/tokens"}
	type call struct{ who, path string }
	measure := func() map[call]map[string]int {
		out := map[call]map[string]int{}
		for _, who := range []store.Account{e.admin, e.cara} {
			b := e.signedIn(who)
			for _, path := range pages {
				if strings.HasPrefix(path, "/audit") || path == "/accounts" || strings.Contains(path, "caseworker=") {
					if who.ID != e.admin.ID {
						continue
					}
				}
				counter.take()
				mustStatus(t, who.Username+" "+path, b.get(path), http.StatusOK)
				out[call{who.Username, path}] = counter.take()
			}
			for _, path := range apis {
				if (strings.HasPrefix(path, "/api/v1/audit") || path == "/api/v1/accounts") && who.ID != e.admin.ID {
					continue
				}
				counter.take()
				mustStatus(t, who.Username+" "+path, e.api(who, http.MethodGet, path, nil), http.StatusOK)
				out[call{who.Username, path}] = counter.take()
			}
		}
		counter.take()
		rec := e.api(e.cara, http.MethodPost, "/api/v1/attention/"+it.ID+"/resolve", map[string]string{"resolution": "contacted"})
		mustStatus(t, "resolve", rec, http.StatusOK)
		out[call{"cara", "POST resolve"}] = counter.take()
		it = e.attentionItem(watched, store.AttentionCallback)
		return out
	}
	few := measure()
	seed(120)
	many := measure()
	for c, reads := range many {
		for _, m := range wholeTable {
			if reads[m] > 0 {
				t.Errorf("%s %s reads a whole table: %s", c.who, c.path, readsOf(reads))
			}
		}
		if totalReads(reads) != totalReads(few[c]) {
			t.Errorf("%s %s reads more as the programme grows: %s with 7 people, %s with 127", c.who, c.path, readsOf(few[c]), readsOf(reads))
		}
	}
}
