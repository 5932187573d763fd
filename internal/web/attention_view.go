package web

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The Needs attention page's presentation: one card per person with their
// open items, each kind told apart by colour, icon and word, counts and
// filters, times in the caseworker's zone. The handler reads; everything
// here works on what it read, so where the reads come from can change
// without touching what the page shows.

// kindOrder is the order kinds are counted and filtered in: what needs a
// caseworker soonest first.
var kindOrder = []store.AttentionKind{
	store.AttentionMissed, store.AttentionCantMakeIt, store.AttentionCallback, store.AttentionReschedule,
	store.AttentionCantReach, store.AttentionNotConsented, store.AttentionOptedOut, store.AttentionErasure,
}

// kindActions are the actions that fit each kind. "Excused" fits only
// what may count against the person; "Reschedule" only what is about a
// time; "Pause" what a break in reminders can help.
var kindActions = map[store.AttentionKind][]string{
	store.AttentionMissed:       {"contacted", "excused", "paused", "resolved"},
	store.AttentionCantMakeIt:   {"contacted", "excused", "rescheduled", "paused", "resolved"},
	store.AttentionCallback:     {"contacted", "resolved"},
	store.AttentionReschedule:   {"rescheduled", "contacted", "resolved"},
	store.AttentionCantReach:    {"contacted", "paused", "resolved"},
	store.AttentionNotConsented: {"contacted", "resolved"},
	store.AttentionOptedOut:     {"contacted", "paused", "resolved"},
	store.AttentionErasure:      {"contacted", "resolved"},
}

// actionsFor lists the actions shown for a kind; a kind this version does
// not know gets the ones that always fit.
func actionsFor(k store.AttentionKind) []string {
	if a, ok := kindActions[k]; ok {
		return a
	}
	return []string{"contacted", "resolved"}
}

func actionFits(k store.AttentionKind, action string) bool {
	return slices.Contains(actionsFor(k), action)
}

// kindClass is the CSS class of a kind; unknown kinds look neutral.
func kindClass(k store.AttentionKind) string {
	if _, ok := kindActions[k]; ok {
		return "kind-" + string(k)
	}
	return "kind-other"
}

// queueFilter narrows the queue. Caseworker is honoured for
// administrators only.
type queueFilter struct {
	Kind       store.AttentionKind
	Caseworker string
	Child      bool
	Person     string // one person's items (from the Participants list)
}

func queueFilterOf(get func(string) string, me store.Account) queueFilter {
	f := queueFilter{Child: get("child") == "1", Person: safeAnchor(get("person"))}
	if k := store.AttentionKind(get("kind")); slices.Contains(kindOrder, k) {
		f.Kind = k
	}
	if canSeeAll(me) {
		f.Caseworker = get("caseworker")
	}
	return f
}

// values are the filter as query parameters, for links and redirects.
func (f queueFilter) values() url.Values {
	v := url.Values{}
	if f.Kind != "" {
		v.Set("kind", string(f.Kind))
	}
	if f.Caseworker != "" {
		v.Set("caseworker", f.Caseworker)
	}
	if f.Child {
		v.Set("child", "1")
	}
	if f.Person != "" {
		v.Set("person", f.Person)
	}
	return v
}

// href is the queue's address with this filter and extra parameters.
func (f queueFilter) href(extra url.Values) string {
	v := f.values()
	for k, vs := range extra {
		v[k] = vs
	}
	if len(v) == 0 {
		return "/attention"
	}
	return "/attention?" + v.Encode()
}

func (f queueFilter) Any() bool { return f.Kind != "" || f.Child || f.Person != "" }

// shownTime is an instant as a caseworker reads it: "today 09:10",
// "yesterday 17:45", "Tue 3 Mar", with the full time for a tooltip and
// the machine-readable one for <time>.
type shownTime struct {
	Text, Full, ISO string
}

func caseworkerTime(t, now time.Time, loc *time.Location) shownTime {
	if t.IsZero() {
		return shownTime{}
	}
	lt, ln := t.In(loc), now.In(loc)
	st := shownTime{Full: lt.Format("Monday 2 January 2006, 15:04 MST"), ISO: t.UTC().Format(time.RFC3339)}
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, loc) }
	switch days := int(day(ln).Sub(day(lt)).Round(24*time.Hour) / (24 * time.Hour)); {
	case days == 0:
		st.Text = "today " + lt.Format("15:04")
	case days == 1:
		st.Text = "yesterday " + lt.Format("15:04")
	case days == -1:
		st.Text = "tomorrow " + lt.Format("15:04")
	case lt.Year() == ln.Year():
		st.Text = lt.Format("Mon 2 Jan")
	default:
		st.Text = lt.Format("Mon 2 Jan 2006")
	}
	return st
}

// zoneOf loads a time zone, UTC when it is unknown.
func zoneOf(name string) *time.Location {
	if name == "" || name == "Local" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

type queueItem struct {
	Item    store.AttentionItem
	Why     string
	About   string
	Since   shownTime
	Ago     string
	Actions []string
}

// queueCard is one person and their open items.
type queueCard struct {
	P          store.Participant
	Caseworker string
	Items      []queueItem
	Kinds      []store.AttentionKind // each kind once, in kindOrder
	// Next is the person after this one, where focus goes once this card
	// is done with.
	Next   string
	oldest time.Time
}

type kindCount struct {
	Kind     store.AttentionKind
	People   int
	Href     string
	Selected bool
}

type resolvedRow struct {
	Item      store.AttentionItem
	P         store.Participant
	By        string
	When      shownTime
	CanReopen bool
}

type queue struct {
	Cards    []queueCard
	Counts   []kindCount
	People   int // people with an open item, before the kind and child filters
	Children int
	Items    int
	Recent   []resolvedRow
}

// recentResolved is how many closed items the page lists.
const recentResolved = 20

// queueInput is what the handler read for the queue.
type queueInput struct {
	Items  []store.AttentionItem // the caseload's items, open and closed, newest first
	People map[string]store.Participant
	Names  map[string]string // account ID → username
	Filter queueFilter
	Now    time.Time
	Zone   *time.Location
	// About says what an item refers to (a window, an appointment).
	About func(store.AttentionItem, store.Participant) string
}

// buildQueue groups open items into one card per person, counts people by
// kind, applies the filters and lists the latest closed items with who
// closed them and when.
func buildQueue(in queueInput) queue {
	var q queue
	cards := map[string]*queueCard{}
	var order []string
	for _, it := range in.Items {
		p, ok := in.People[it.ParticipantID]
		if !ok {
			continue
		}
		if !it.Open() {
			if len(q.Recent) < recentResolved && (!in.Filter.Child || p.Child) && (in.Filter.Kind == "" || it.Kind == in.Filter.Kind) {
				by := in.Names[it.ResolvedBy]
				if it.ResolvedBy == store.ResolvedBySystem {
					by = "Waymark"
				} else if by == "" {
					by = "a deleted account"
				}
				q.Recent = append(q.Recent, resolvedRow{Item: it, P: p, By: by, When: caseworkerTime(it.ResolvedAt, in.Now, in.Zone),
					CanReopen: it.ResolvedBy != store.ResolvedBySystem})
			}
			continue
		}
		c := cards[p.ID]
		if c == nil {
			c = &queueCard{P: p, Caseworker: in.Names[p.CaseworkerID]}
			cards[p.ID] = c
			order = append(order, p.ID)
		}
		about := ""
		if in.About != nil {
			about = in.About(it, p)
		}
		c.Items = append(c.Items, queueItem{Item: it, Why: whyLabel(it), About: about,
			Since: caseworkerTime(it.CreatedAt, in.Now, in.Zone), Ago: ago(in.Now, it.CreatedAt), Actions: actionsFor(it.Kind)})
		if c.oldest.IsZero() || it.CreatedAt.Before(c.oldest) {
			c.oldest = it.CreatedAt
		}
	}
	// A reopened item keeps an older item's time but is newer in the list:
	// the oldest first within a card.
	counts := map[store.AttentionKind]int{}
	for _, id := range order {
		c := cards[id]
		slices.SortStableFunc(c.Items, func(a, b queueItem) int { return a.Item.CreatedAt.Compare(b.Item.CreatedAt) })
		for _, k := range kindOrder {
			if slices.ContainsFunc(c.Items, func(i queueItem) bool { return i.Item.Kind == k }) {
				c.Kinds = append(c.Kinds, k)
			}
		}
		for _, it := range c.Items {
			if !slices.Contains(kindOrder, it.Item.Kind) && !slices.Contains(c.Kinds, it.Item.Kind) {
				c.Kinds = append(c.Kinds, it.Item.Kind)
			}
		}
		if in.Filter.Child && !c.P.Child {
			continue
		}
		for _, k := range c.Kinds {
			counts[k]++
		}
	}
	for _, id := range order {
		c := cards[id]
		q.People++
		if c.P.Child {
			q.Children++
		}
		if (in.Filter.Child && !c.P.Child) || (in.Filter.Kind != "" && !slices.Contains(c.Kinds, in.Filter.Kind)) || (in.Filter.Person != "" && c.P.ID != in.Filter.Person) {
			continue
		}
		q.Cards = append(q.Cards, *c)
		q.Items += len(c.Items)
	}
	// Children first: their cases need a trained eye soonest. Then whoever
	// has waited longest.
	slices.SortStableFunc(q.Cards, func(a, b queueCard) int {
		if a.P.Child != b.P.Child {
			if a.P.Child {
				return -1
			}
			return 1
		}
		if c := a.oldest.Compare(b.oldest); c != 0 {
			return c
		}
		return strings.Compare(a.P.ID, b.P.ID)
	})
	for i := range q.Cards {
		if i+1 < len(q.Cards) {
			q.Cards[i].Next = q.Cards[i+1].P.ID
		}
	}
	for _, k := range kindOrder {
		n := counts[k]
		if n == 0 && in.Filter.Kind != k {
			continue
		}
		f := in.Filter
		f.Kind = k
		if in.Filter.Kind == k {
			f.Kind = "" // the selected count's link clears it
		}
		q.Counts = append(q.Counts, kindCount{Kind: k, People: n, Href: f.href(nil), Selected: in.Filter.Kind == k})
	}
	return q
}

// afterAction is where the queue goes once an item is dealt with: the
// same person while they have open items, else the next card, with the
// filters kept and the item to offer to undo.
func afterAction(f queueFilter, done, itemID, stillOpen, next string) string {
	focus := next
	if stillOpen != "" {
		focus = stillOpen
	}
	extra := url.Values{"done": {done}, "undo": {itemID}}
	if focus == "" {
		return f.href(extra) + "#main"
	}
	// No fragment: a browser does not autofocus a page whose address has
	// one, and the focused card's heading is scrolled into view anyway.
	extra.Set("focus", focus)
	return f.href(extra)
}
