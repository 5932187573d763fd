package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
)

// Two administrators at once: one takes a caseworker's child-protection
// training away, the other marks a person in that caseworker's caseload a
// child. Each page checks first, but only the store's check, made in the
// same step as the write, sees the other's change: one of the two is
// refused every time, and no child is ever left with an untrained
// caseworker.
func TestTrainingRemovedWhileAChildIsAssigned(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	untrainer, assigner := e.signedIn(e.admin), e.signedIn(e.admin)
	const rounds = 40
	refused := map[string]int{}
	for r := range rounds {
		cw := e.account(fmt.Sprintf("cw%02d", r), store.RoleCaseworker, true)
		p := e.participant(fmt.Sprintf("Y%02d", r), cw)
		form := url.Values{"label": {p.Label}, "language": {"en"}, "time_zone": {"Europe/London"}, "schedule": {"none"},
			"child": {"on"}, "caseworker": {cw.ID}}
		var wg sync.WaitGroup
		var untrained, assigned int
		wg.Go(func() { untrained = untrainer.post("/accounts/"+cw.ID, url.Values{"role": {"caseworker"}}).Code })
		wg.Go(func() { assigned = assigner.post("/participants/"+p.ID, form).Code })
		wg.Wait()
		if untrained != http.StatusSeeOther && untrained != http.StatusConflict {
			t.Fatalf("round %d: taking the training away: status %d", r, untrained)
		}
		if assigned != http.StatusSeeOther && assigned != http.StatusUnprocessableEntity {
			t.Fatalf("round %d: marking a child: status %d", r, assigned)
		}
		got, err := e.st.GetParticipant(t.Context(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.st.GetAccount(t.Context(), cw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Child && got.CaseworkerID == cw.ID && !a.ChildProtectionTrained {
			t.Fatalf("round %d: a child was left with a caseworker without child-protection training", r)
		}
		if untrained == http.StatusConflict {
			refused["untrain"]++
		}
		if assigned == http.StatusUnprocessableEntity {
			refused["assign"]++
		}
	}
	t.Logf("%d rounds: training kept %d times, the child refused %d times", rounds, refused["untrain"], refused["assign"])
}
