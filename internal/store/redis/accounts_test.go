package redis

import "testing"

// TestAccountKeyLayout: account scripts and the revoking DEL combine these
// keys, so on a cluster they must share one slot whatever the IDs hold.
func TestAccountKeyLayout(t *testing.T) {
	ak := keys{prefix: "waymark:"}.accounts()
	for _, key := range []string{
		ak.records(), ak.byName(), ak.session("h{x}"), ak.sessionsOf("acct_{1}"),
		ak.apiToken("h}"), ak.apiTokensOf("acct_1"), ak.setup(),
	} {
		if got := hashTag(key); got != "accounts" {
			t.Fatalf("key %q hashes by %q, want accounts", key, got)
		}
	}
}
