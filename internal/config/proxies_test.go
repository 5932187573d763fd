package config

import (
	"strings"
	"testing"
	"time"
)

func TestTrustedProxies(t *testing.T) {
	c, _, err := Load(env(map[string]string{"WAYMARK_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,fd00::/8,"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := c.TrustedProxyNets()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nets {
		got = append(got, n.String())
	}
	if want := "10.0.0.0/8 192.168.1.7/32 fd00::/8"; strings.Join(got, " ") != want {
		t.Errorf("nets = %v, want %s", got, want)
	}

	c, _, err = Load(env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nets, err := c.TrustedProxyNets(); err != nil || len(nets) != 0 {
		t.Errorf("unset: nets %v, err %v; want none: no forwarded header is believed by default", nets, err)
	}

	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "0.0.0.0/0", "::/0", "10.0.0.0/8,nonsense"} {
		_, _, err := Load(env(map[string]string{"WAYMARK_TRUSTED_PROXIES": bad}), nil, nil)
		if err == nil || !strings.Contains(err.Error(), "WAYMARK_TRUSTED_PROXIES") {
			t.Errorf("%q: err = %v, want one naming WAYMARK_TRUSTED_PROXIES", bad, err)
		}
	}
}

func TestBotUsernameAndSessionTTL(t *testing.T) {
	c, _, err := Load(env(map[string]string{"WAYMARK_TELEGRAM_BOT_USERNAME": "Example_CheckIn_bot"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionTTL != 12*time.Hour {
		t.Errorf("session TTL default = %v, want 12h", c.SessionTTL)
	}
	for name, bad := range map[string]string{
		"WAYMARK_TELEGRAM_BOT_USERNAME": "@ExampleBot",
		"WAYMARK_SESSION_TTL":           "1s",
	} {
		_, _, err := Load(env(map[string]string{name: bad}), nil, nil)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want one naming it", name, bad, err)
		}
	}
	for _, bad := range []string{"abot", "not_a_robot_name", "Example-Bot"} {
		if validBotUsername(bad) {
			t.Errorf("%q accepted as a bot username", bad)
		}
	}
}
