package web

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/store"
)

// What pages and API calls list, read through the store's indexes: a
// caseworker's caseload, an administrator's programme a page at a time,
// and the attention queue of either. No request reads a whole table, so
// a page costs the same with 30 people or 100,000 (docs/performance.md).

// Page sizes: what a list shows when not asked, and the most it shows.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// searchScan bounds how many participants one search request reads
	// when an administrator searches the whole programme by label; the
	// answer's cursor continues the search.
	searchScan = 1000
	// recentScan is how many of the newest items the queue reads to show
	// the ones dealt with lately.
	recentScan = 100
)

// errBadCursor answers a cursor the list did not hand out.
var errBadCursor = &opError{http.StatusBadRequest, codeBadRequest, "cursor: pass the next_cursor of the page before, unchanged"}

// pageParams reads ?limit= and ?cursor=; a bad value is a 400.
func pageParams(c echo.Context) (limit int, cursor string, err error) {
	limit = defaultPageSize
	q := c.QueryParams()
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if len(v) > 1 || err != nil || n < 1 || n > maxPageSize {
			return 0, "", apiFail(http.StatusBadRequest, codeBadRequest, "limit: one number from 1 to "+strconv.Itoa(maxPageSize))
		}
		limit = n
	}
	if v := q["cursor"]; len(v) > 1 || len(v) == 1 && v[0] == "" {
		return 0, "", errBadCursor
	}
	cursor = q.Get("cursor")
	if len(cursor) > 200 || strings.ContainsAny(cursor, "\x00\n") {
		return 0, "", errBadCursor
	}
	return limit, cursor, nil
}

// badCursor turns the store's refusal of a cursor into the caller's 400.
func badCursor(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return errBadCursor
	}
	return err
}

// pageByKey is one page of items sorted by key (ascending, keys
// distinct), starting after the item whose key is cursor.
func pageByKey[T any](items []T, key func(T) string, cursor string, limit int) ([]T, string) {
	if cursor != "" {
		items = items[sort.Search(len(items), func(i int) bool { return key(items[i]) > cursor }):]
	}
	if len(items) > limit {
		return items[:limit], key(items[limit-1])
	}
	return items, ""
}

// pageByID is one page of participants ordered by ID, from after cursor.
func pageByID(ps []store.Participant, cursor string, limit int) ([]store.Participant, string) {
	return pageByKey(ps, func(p store.Participant) string { return p.ID }, cursor, limit)
}

// pageByTime is one page of items ordered newest first, from after
// cursor.
func pageByTime(items []store.AttentionItem, cursor string, limit int) ([]store.AttentionItem, string, error) {
	if cursor != "" {
		at, id, err := store.ParseTimeCursor(cursor)
		if err != nil {
			return nil, "", errBadCursor
		}
		i := 0
		for i < len(items) && !store.After(items[i].CreatedAt, items[i].ID, at, id) {
			i++
		}
		items = items[i:]
	}
	if len(items) > limit {
		last := items[limit-1]
		return items[:limit], store.TimeCursor(last.CreatedAt, last.ID), nil
	}
	return items, "", nil
}

// matchesQuery is the participant search: a label containing q, or an
// ID starting with it, ignoring case.
func matchesQuery(p store.Participant, q string) bool {
	q = strings.ToLower(q)
	return q == "" || strings.Contains(strings.ToLower(p.Label), q) || strings.HasPrefix(strings.ToLower(p.ID), q)
}

// visibleParticipants is one page of the participants an account sees
// that match q, ordered by ID: a caseworker's caseload, or the whole
// programme for an administrator, read a page at a time (a search reads
// at most searchScan records a request and continues from its cursor).
func (s *Server) visibleParticipants(ctx context.Context, a store.Account, q, cursor string, limit int) ([]store.Participant, string, error) {
	if !canSeeAll(a) && q == "" {
		ps, next, err := s.deps.Store.PageCaseload(ctx, a.ID, cursor, limit)
		return ps, next, badCursor(err)
	}
	if !canSeeAll(a) {
		ps, err := s.deps.Store.ParticipantsOf(ctx, a.ID)
		if err != nil {
			return nil, "", err
		}
		if err := store.CheckIDCursor(cursor); err != nil {
			return nil, "", errBadCursor
		}
		out := ps[:0]
		for _, p := range ps {
			if matchesQuery(p, q) {
				out = append(out, p)
			}
		}
		page, next := pageByID(out, cursor, limit)
		return page, next, nil
	}
	if q == "" {
		ps, next, err := s.deps.Store.PageParticipants(ctx, cursor, limit)
		return ps, next, badCursor(err)
	}
	var out []store.Participant
	for scanned := 0; scanned < searchScan; {
		batch := min(searchScan-scanned, 500)
		ps, next, err := s.deps.Store.PageParticipants(ctx, cursor, batch)
		if err != nil {
			return nil, "", badCursor(err)
		}
		scanned += len(ps)
		for i, p := range ps {
			if !matchesQuery(p, q) {
				continue
			}
			out = append(out, p)
			if len(out) == limit {
				if i == len(ps)-1 && next == "" {
					return out, "", nil
				}
				return out, p.ID, nil
			}
		}
		if next == "" {
			return out, "", nil
		}
		cursor = next
	}
	return out, cursor, nil
}

// orphanCaseworkers are the caseworker IDs that have a caseload but no
// active account: disabled, deleted, or none ("").
func (s *Server) orphanCaseworkers(ctx context.Context) ([]string, error) {
	loads, err := s.deps.Store.Caseloads(ctx)
	if err != nil {
		return nil, err
	}
	active, err := s.activeAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for cw := range loads {
		if !active[cw] {
			out = append(out, cw)
		}
	}
	return out, nil
}

// unassignedCount counts the people whose caseworker is not active.
func (s *Server) unassignedCount(ctx context.Context) (int, error) {
	loads, err := s.deps.Store.Caseloads(ctx)
	if err != nil {
		return 0, err
	}
	active, err := s.activeAccounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for cw, l := range loads {
		if !active[cw] {
			n += l.People
		}
	}
	return n, nil
}

// visibleAttention is one page of the attention items of the account's
// caseload, newest first, narrowed to one caseworker's when an admin
// asks, with the participants they are about. An administrator's whole
// queue is read a page at a time through the queue's index; a caseload's
// through its people's items.
func (s *Server) visibleAttention(ctx context.Context, a store.Account, openOnly bool, kinds []store.AttentionKind, caseworkerID, cursor string, limit int) ([]store.AttentionItem, map[string]store.Participant, string, error) {
	var items []store.AttentionItem
	var next string
	var err error
	q := store.AttentionQuery{OpenOnly: openOnly, Kinds: kinds, Cursor: cursor, Limit: limit}
	if isAdminQueue(a, caseworkerID) {
		items, next, err = s.deps.Store.PageAttention(ctx, q)
		err = badCursor(err)
	} else if items, err = s.caseloadAttention(ctx, a, caseworkerID, openOnly); err == nil {
		items = slices.DeleteFunc(items, func(it store.AttentionItem) bool { return !q.Matches(it) })
		items, next, err = pageByTime(items, cursor, limit)
	}
	if err != nil {
		return nil, nil, "", err
	}
	byID, err := s.peopleOf(ctx, items)
	if err != nil {
		return nil, nil, "", err
	}
	return shownItems(a, items, byID), byID, next, nil
}

// isAdminQueue reports whether a queue is an administrator's whole
// programme, read a page at a time, rather than one caseload's.
func isAdminQueue(a store.Account, caseworkerID string) bool {
	return canSeeAll(a) && caseworkerID == ""
}

// caseloadIDs lists who is in one caseload the account may see, as
// caseload does, without reading their records.
func (s *Server) caseloadIDs(ctx context.Context, a store.Account, caseworkerID string) ([]string, error) {
	if !canSeeAll(a) {
		if caseworkerID != "" && caseworkerID != a.ID {
			return nil, nil
		}
		return s.deps.Store.CaseloadIDs(ctx, a.ID)
	}
	if caseworkerID != noActiveCaseworker {
		return s.deps.Store.CaseloadIDs(ctx, caseworkerID)
	}
	orphans, err := s.orphanCaseworkers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, cw := range orphans {
		ids, err := s.deps.Store.CaseloadIDs(ctx, cw)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	slices.Sort(out)
	return out, nil
}

// caseloadAttention is every item of one caseload the account may see,
// newest first, only open ones when openOnly.
func (s *Server) caseloadAttention(ctx context.Context, a store.Account, caseworkerID string, openOnly bool) ([]store.AttentionItem, error) {
	ids, err := s.caseloadIDs(ctx, a, caseworkerID)
	if err != nil {
		return nil, err
	}
	return s.deps.Store.AttentionOfMany(ctx, ids, openOnly)
}

// peopleOf reads the participants the items are about, in one read.
func (s *Server) peopleOf(ctx context.Context, lists ...[]store.AttentionItem) (map[string]store.Participant, error) {
	byID := map[string]store.Participant{}
	var pids []string
	for _, items := range lists {
		for _, it := range items {
			if _, ok := byID[it.ParticipantID]; !ok {
				byID[it.ParticipantID] = store.Participant{}
				pids = append(pids, it.ParticipantID)
			}
		}
	}
	ps, err := s.deps.Store.GetParticipants(ctx, pids)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		byID[p.ID] = p
	}
	return byID, nil
}

// shownItems keeps the items whose person the account may see, as the
// records say: it drops those of people erased since the items were
// read, and of anyone a caseload's list still names after they left it.
func shownItems(a store.Account, items []store.AttentionItem, byID map[string]store.Participant) []store.AttentionItem {
	out := items[:0]
	for _, it := range items {
		if p := byID[it.ParticipantID]; p.ID != "" && visibleTo(a, p) {
			out = append(out, it)
		}
	}
	return out
}

// openCounts counts the open items of each of ps.
func (s *Server) openCounts(ctx context.Context, ps []store.Participant) (map[string]int, error) {
	pids := make([]string, len(ps))
	for i, p := range ps {
		pids[i] = p.ID
	}
	items, err := s.deps.Store.AttentionOfMany(ctx, pids, true)
	if err != nil {
		return nil, err
	}
	open := make(map[string]int, len(ps))
	for _, it := range items {
		open[it.ParticipantID]++
	}
	return open, nil
}

// participantsPageSize is how many people the Participants page lists a
// page: a caseload of up to that many reads as one list, sorted by label.
const participantsPageSize = 200

// caseloadSize counts the participants an account sees, from the kept
// counts rather than the records.
func (s *Server) caseloadSize(ctx context.Context, a store.Account) (int, error) {
	loads, err := s.deps.Store.Caseloads(ctx)
	if err != nil {
		return 0, err
	}
	if !canSeeAll(a) {
		return loads[a.ID].People, nil
	}
	n := 0
	for _, l := range loads {
		n += l.People
	}
	return n, nil
}

// nextCursor is a page's next_cursor in JSON: null after the last page.
func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// allVisible lists every participant an account sees, ordered by ID: for
// the CSV downloads, which are the whole caseload by nature. An
// administrator's is read a batch at a time.
func (s *Server) allVisible(ctx context.Context, a store.Account) ([]store.Participant, error) {
	if !canSeeAll(a) {
		return s.deps.Store.ParticipantsOf(ctx, a.ID)
	}
	var out []store.Participant
	for cursor := ""; ; {
		ps, next, err := s.deps.Store.PageParticipants(ctx, cursor, maxPageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// auditQueryOf reads the audit log's filters and page: ?participant=,
// ?actor=, ?action=, ?from= and ?to= (a date, or an RFC 3339 time; to is
// exclusive, and a date means the end of that day), ?limit= and ?cursor=.
// auditQueryOf reads the audit log's filters; a date is a whole day in
// loc (the caseworker's own zone on the page, UTC in the API).
func auditQueryOf(c echo.Context, loc *time.Location) (store.AuditQuery, error) {
	limit, cursor, err := pageParams(c)
	if err != nil {
		return store.AuditQuery{}, err
	}
	q := store.AuditQuery{
		Participant: strings.TrimSpace(c.QueryParam("participant")),
		Actor:       strings.TrimSpace(c.QueryParam("actor")),
		Action:      strings.TrimSpace(c.QueryParam("action")),
		Cursor:      cursor, Limit: limit,
	}
	for _, f := range []struct {
		name  string
		dst   *time.Time
		isEnd bool
	}{{"from", &q.From, false}, {"to", &q.To, true}} {
		v := strings.TrimSpace(c.QueryParam(f.name))
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*f.dst = t
		} else if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			if f.isEnd {
				d = d.AddDate(0, 0, 1)
			}
			*f.dst = d
		} else {
			return q, apiFail(http.StatusBadRequest, codeBadRequest, f.name+": use a date (2026-03-01) or an RFC 3339 time")
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, apiFail(http.StatusBadRequest, codeBadRequest, "from must come before to")
	}
	return q, nil
}

// nextPageURL is the address of the next page of the list at path: the
// request's own filters with the next cursor, or "" on the last page.
func nextPageURL(c echo.Context, path, next string) string {
	if next == "" {
		return ""
	}
	q := c.Request().URL.Query()
	q.Set("cursor", next)
	q.Del("done")
	return path + "?" + q.Encode()
}

// recentShown is how many items dealt with lately the queue shows.
const recentShown = 20

// queueRead is what the Needs attention page reads from the store.
type queueRead struct {
	Open   []store.AttentionItem // a page of open items of the kinds asked for, newest first
	Recent []store.AttentionItem // items dealt with lately, newest first
	// Whole is every open item of the queue, of every kind, where it is
	// read whole (a caseload, one person), for counts of all of it. An
	// administrator's whole queue is read a page at a time; Tally counts
	// it instead, from the counts the store keeps.
	Whole  []store.AttentionItem
	Tally  *store.AttentionTally
	People map[string]store.Participant
	Next   string // the next page's cursor; "" on the last
}

// queue reads the Needs attention page: a page of open items of the
// kinds asked for (any when none) from the cursor, the items dealt with
// lately (among the recentScan newest for an administrator's whole queue,
// of the whole caseload otherwise), the people they are about, and what
// the counts by kind are made of. One person's items, and a caseload's,
// are read once for all of them.
func (s *Server) queue(ctx context.Context, a store.Account, f queueFilter, cursor string) (queueRead, error) {
	var kinds []store.AttentionKind
	if f.Kind != "" {
		kinds = []store.AttentionKind{f.Kind}
	}
	var all []store.AttentionItem
	var people map[string]store.Participant // read already, when known
	var err error
	switch {
	case f.Person != "":
		all, people, err = s.personAttention(ctx, a, f.Person)
	case isAdminQueue(a, f.Caseworker):
		return s.wholeQueue(ctx, a, kinds, f.Child, cursor)
	default:
		all, err = s.caseloadAttention(ctx, a, f.Caseworker, false)
	}
	if err != nil {
		return queueRead{}, err
	}
	var r queueRead
	var opened []store.AttentionItem
	only := store.AttentionQuery{Kinds: kinds}
	for _, it := range all {
		if it.Open() {
			r.Whole = append(r.Whole, it)
			if only.Matches(it) {
				opened = append(opened, it)
			}
		}
	}
	if r.Open, r.Next, err = pageByTime(opened, cursor, queuePageSize); err != nil {
		return queueRead{}, err
	}
	r.Recent = dealtWith(all)
	// One read for everyone with an open item, unless they are known.
	if r.People = people; r.People == nil {
		if r.People, err = s.peopleOf(ctx, r.Whole, r.Recent); err != nil {
			return queueRead{}, err
		}
	}
	r.Open, r.Recent, r.Whole = shownItems(a, r.Open, r.People), shownItems(a, r.Recent, r.People), shownItems(a, r.Whole, r.People)
	return r, nil
}

// wholeQueue reads an administrator's whole queue: a page of open items
// through the queue's index, the items dealt with lately among the
// recentScan newest, and the counts of who has open items the store keeps.
func (s *Server) wholeQueue(ctx context.Context, a store.Account, kinds []store.AttentionKind, children bool, cursor string) (queueRead, error) {
	var r queueRead
	var err error
	if children {
		r.Open, r.People, r.Next, err = s.childrensAttention(ctx, a, kinds, cursor)
	} else {
		r.Open, r.People, r.Next, err = s.visibleAttention(ctx, a, true, kinds, "", cursor, queuePageSize)
	}
	if err != nil {
		return queueRead{}, err
	}
	latest, latestOf, _, err := s.visibleAttention(ctx, a, false, nil, "", "", recentScan)
	if err != nil {
		return queueRead{}, err
	}
	maps.Copy(r.People, latestOf)
	r.Recent = dealtWith(latest)
	tally, err := s.deps.Store.TallyAttention(ctx)
	if err != nil {
		return queueRead{}, err
	}
	r.Tally = &tally
	return r, nil
}

// childrensAttention is a page of the whole queue's open items about
// children: the queue's index read on from the cursor until a page of
// them is found or store.AttentionScan items were read, the next page
// starting where the reading stopped. Filtering one page of everyone's
// items instead would show "nobody matches" while children wait further
// down the queue.
func (s *Server) childrensAttention(ctx context.Context, a store.Account, kinds []store.AttentionKind, cursor string) ([]store.AttentionItem, map[string]store.Participant, string, error) {
	var out []store.AttentionItem
	people := map[string]store.Participant{}
	last := ""
	for range store.AttentionScan / queuePageSize {
		items, byID, next, err := s.visibleAttention(ctx, a, true, kinds, "", cursor, queuePageSize)
		if err != nil {
			return nil, nil, "", err
		}
		for _, it := range items {
			p := byID[it.ParticipantID]
			if !p.Child {
				continue
			}
			if len(out) == queuePageSize {
				return out, people, last, nil // more children follow
			}
			out, people[p.ID], last = append(out, it), p, store.TimeCursor(it.CreatedAt, it.ID)
		}
		if next == "" {
			return out, people, "", nil
		}
		cursor = next
	}
	return out, people, cursor, nil
}

// personAttention is one person's items, newest first, and the person,
// when the account may see them; none otherwise, as for someone who does
// not exist.
func (s *Server) personAttention(ctx context.Context, a store.Account, pid string) ([]store.AttentionItem, map[string]store.Participant, error) {
	p, err := s.deps.Store.GetParticipant(ctx, pid)
	if errors.Is(err, store.ErrNotFound) || err == nil && !visibleTo(a, p) {
		return nil, map[string]store.Participant{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	items, err := s.deps.Store.AttentionOf(ctx, pid)
	if err != nil {
		return nil, nil, err
	}
	store.SortNewestFirst(items)
	return items, map[string]store.Participant{p.ID: p}, nil
}

// dealtWith keeps the first recentShown resolved items of a newest-first
// list.
func dealtWith(items []store.AttentionItem) []store.AttentionItem {
	var out []store.AttentionItem
	for _, it := range items {
		if !it.Open() && len(out) < recentShown {
			out = append(out, it)
		}
	}
	return out
}

// kindsParam reads ?kind= (repeatable): the kinds of item asked for, any
// when absent; an unknown kind is a 400.
func kindsParam(c echo.Context) ([]store.AttentionKind, error) {
	var out []store.AttentionKind
	for _, v := range c.QueryParams()["kind"] {
		k := store.AttentionKind(v)
		if !slices.Contains(store.AttentionKinds, k) {
			return nil, apiFail(http.StatusBadRequest, codeBadRequest, "kind: one of missed_checkin, cant_reach, callback_request, cant_make_it, reschedule_request, opted_out, not_consented, erasure_request")
		}
		out = append(out, k)
	}
	return out, nil
}
