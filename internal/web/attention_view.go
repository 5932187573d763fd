package web

import (
	"maps"
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
	maps.Copy(v, extra)
	if len(v) == 0 {
		return "/attention"
	}
	return "/attention?" + v.Encode()
}

// Href is the queue's address with this filter.
func (f queueFilter) Href() string { return f.href(nil) }

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
	Cards    []queueCard // the page of cards shown
	Counts   []kindCount
	People   int // people with an open item, before the kind and child filters
	Children int
	Matching int // people the filters keep
	Items    int // their open items
	// ItemsOnPage says Items counts only the page's open items: the
	// whole queue's people are counted, not its items.
	ItemsOnPage bool
	Recent      []resolvedRow
	// Later is the cursor of the next page of cards ("" on the last);
	// Earlier says this is not the first page.
	Later   string
	Earlier bool
}

// recentResolved is how many closed items the page lists.
const recentResolved = 20

// cardsPerPage bounds the cards one page of the queue shows: no fewer
// than the open items a page reads (queuePageSize), so that every person
// the store's page names gets their card.
const cardsPerPage = queuePageSize

// queueInput is what the handler read for the queue.
type queueInput struct {
	Items []store.AttentionItem // the caseload's items, open and closed, newest first
	// Whole, when set, is every open item of the queue, of every kind:
	// the people and the counts by kind are of all of them, not only of
	// the page Items holds.
	Whole []store.AttentionItem
	// Tally, when set, counts the whole queue instead: an
	// administrator's, read a page at a time.
	Tally  *store.AttentionTally
	People map[string]store.Participant
	Names  map[string]string // account ID → username
	Filter queueFilter
	Now    time.Time
	Zone   *time.Location
	// About says what an item refers to (a window, an appointment).
	About func(store.AttentionItem, store.Participant) string
	// After starts the page after this person's card; Focus, when that
	// person's card is further on, starts the page at it.
	After, Focus string
}

// cardOf gathers one person's open items before the page is cut: only
// the cards shown are put into words.
type cardOf struct {
	p      store.Participant
	items  []store.AttentionItem
	kinds  uint32 // a bit per index in kindOrder; unknown kinds set bit 31
	oldest time.Time
}

func kindBit(k store.AttentionKind) uint32 {
	if i := slices.Index(kindOrder, k); i >= 0 {
		return 1 << i
	}
	return 1 << 31
}

// buildQueue groups open items into one card per person, counts people by
// kind, applies the filters, cuts a page of cards and lists the latest
// closed items with who closed them and when.
func buildQueue(in queueInput) queue {
	var q queue
	byPerson := make(map[string]*cardOf, len(in.People))
	var all []*cardOf
	for _, it := range in.Items {
		if !it.Open() {
			if len(q.Recent) >= recentResolved || in.Filter.Kind != "" && it.Kind != in.Filter.Kind || in.Filter.Person != "" && it.ParticipantID != in.Filter.Person {
				continue
			}
			if p, ok := in.People[it.ParticipantID]; ok && (!in.Filter.Child || p.Child) {
				q.Recent = append(q.Recent, resolvedRowOf(it, p, in))
			}
			continue
		}
		c := byPerson[it.ParticipantID]
		if c == nil {
			p, ok := in.People[it.ParticipantID]
			if !ok {
				continue
			}
			c = &cardOf{p: p}
			byPerson[p.ID] = c
			all = append(all, c)
		}
		c.items = append(c.items, it)
		c.kinds |= kindBit(it.Kind)
		if c.oldest.IsZero() || it.CreatedAt.Before(c.oldest) {
			c.oldest = it.CreatedAt
		}
	}
	counted := all
	if in.Whole != nil {
		counted = wholeKinds(in.Whole, in.People)
	}
	counts := make([]int, len(kindOrder))
	tallied := in.Tally != nil && in.Filter.Person == ""
	if tallied {
		q.People, q.Children = in.Tally.People, in.Tally.Children
		for i, k := range kindOrder {
			counts[i] = tallyOf(*in.Tally, k, in.Filter.Child)
		}
		counted = nil
	}
	for _, c := range counted {
		q.People++
		if c.p.Child {
			q.Children++
		}
		if (in.Filter.Child && !c.p.Child) || (in.Filter.Person != "" && c.p.ID != in.Filter.Person) {
			continue
		}
		for i := range kindOrder {
			if c.kinds&(1<<i) != 0 {
				counts[i]++
			}
		}
	}
	var shown []*cardOf
	for _, c := range all {
		if (in.Filter.Child && !c.p.Child) || (in.Filter.Person != "" && c.p.ID != in.Filter.Person) {
			continue
		}
		if in.Filter.Kind != "" && c.kinds&kindBit(in.Filter.Kind) == 0 {
			continue
		}
		shown = append(shown, c)
		q.Items += len(c.items)
	}
	q.Matching = len(shown)
	if tallied {
		q.Matching, q.ItemsOnPage = tallyOf(*in.Tally, in.Filter.Kind, in.Filter.Child), true
	}
	// Children first: their cases need a trained eye soonest. Then whoever
	// has waited longest.
	slices.SortFunc(shown, func(a, b *cardOf) int {
		if a.p.Child != b.p.Child {
			if a.p.Child {
				return -1
			}
			return 1
		}
		if c := a.oldest.Compare(b.oldest); c != 0 {
			return c
		}
		return strings.Compare(a.p.ID, b.p.ID)
	})
	start := 0
	if i := slices.IndexFunc(shown, func(c *cardOf) bool { return c.p.ID == in.After }); i >= 0 && in.After != "" {
		start = i + 1
	}
	if i := slices.IndexFunc(shown, func(c *cardOf) bool { return c.p.ID == in.Focus }); i >= 0 && in.Focus != "" && (i < start || i >= start+cardsPerPage) {
		start = i
	}
	end := min(start+cardsPerPage, len(shown))
	q.Earlier = start > 0
	if end < len(shown) {
		q.Later = shown[end-1].p.ID
	}
	for i := start; i < end; i++ {
		card := cardWords(shown[i], in)
		if i+1 < len(shown) {
			card.Next = shown[i+1].p.ID
		}
		q.Cards = append(q.Cards, card)
	}
	for i, k := range kindOrder {
		n := counts[i]
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

// tallyOf is how many people of the tally have an open item of kind (any
// kind when ""), only children when children.
func tallyOf(t store.AttentionTally, kind store.AttentionKind, children bool) int {
	switch {
	case kind == "" && children:
		return t.Children
	case kind == "":
		return t.People
	case children:
		return t.ChildrenByKind[kind]
	}
	return t.ByKind[kind]
}

// wholeKinds gathers, for each person with an open item, the kinds of
// their open items: what the counts of a whole queue are made of.
func wholeKinds(items []store.AttentionItem, people map[string]store.Participant) []*cardOf {
	byPerson := map[string]*cardOf{}
	var out []*cardOf
	for _, it := range items {
		c := byPerson[it.ParticipantID]
		if c == nil {
			p, ok := people[it.ParticipantID]
			if !ok {
				continue
			}
			c = &cardOf{p: p}
			byPerson[p.ID] = c
			out = append(out, c)
		}
		c.kinds |= kindBit(it.Kind)
	}
	return out
}

// cardWords puts one person's card into words: oldest item first, each
// kind once.
func cardWords(c *cardOf, in queueInput) queueCard {
	card := queueCard{P: c.p, Caseworker: in.Names[c.p.CaseworkerID], oldest: c.oldest}
	items := slices.Clone(c.items)
	slices.SortStableFunc(items, func(a, b store.AttentionItem) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, it := range items {
		about := ""
		if in.About != nil {
			about = in.About(it, c.p)
		}
		card.Items = append(card.Items, queueItem{Item: it, Why: whyLabel(it), About: about,
			Since: caseworkerTime(it.CreatedAt, in.Now, in.Zone), Ago: ago(in.Now, it.CreatedAt), Actions: actionsFor(it.Kind)})
	}
	for i, k := range kindOrder {
		if c.kinds&(1<<i) != 0 {
			card.Kinds = append(card.Kinds, k)
		}
	}
	for _, it := range items {
		if !slices.Contains(kindOrder, it.Kind) && !slices.Contains(card.Kinds, it.Kind) {
			card.Kinds = append(card.Kinds, it.Kind)
		}
	}
	return card
}

func resolvedRowOf(it store.AttentionItem, p store.Participant, in queueInput) resolvedRow {
	by := in.Names[it.ResolvedBy]
	if it.ResolvedBy == store.ResolvedBySystem {
		by = "Waymark"
	} else if by == "" {
		by = "a deleted account"
	}
	return resolvedRow{Item: it, P: p, By: by, When: caseworkerTime(it.ResolvedAt, in.Now, in.Zone), CanReopen: it.ResolvedBy != store.ResolvedBySystem}
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
