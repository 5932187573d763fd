package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// Paths of the inbound routes, under /webhooks.
const (
	InboundRoute = "/twilio/sms"
	StatusRoute  = "/twilio/status"
)

// Conversation is what the inbound webhook hands messages to.
type Conversation interface {
	Handle(ctx context.Context, in conversation.Inbound) (conversation.Outcome, error)
}

// Statuses is what the status webhook records delivery statuses with (the
// outbox dispatcher).
type Statuses interface {
	ApplyStatus(ctx context.Context, id, providerID string, st store.MessageStatus, errorCode string) error
}

// Webhooks answers Twilio's inbound message and status callbacks. Each
// request is verified first, then parsed, then deduplicated (by the
// conversation, with the turn), then handed off.
type Webhooks struct {
	AuthToken    string
	PublicURL    string // WAYMARK_PUBLIC_URL: signatures are checked against it, never the request's own host
	Conversation Conversation
	Statuses     Statuses
	Wake         func() // tells the outbox there is work; may be nil
	Log          *slog.Logger
}

// verifiedBody reads the raw body (bounded by the route's body limit) and
// checks the signature over it. Nothing is parsed before this passes.
func (w *Webhooks) verifiedBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &tooBig):
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
		case errors.As(err, &he):
			return nil, he
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "could not read request body")
	}
	sig := c.Request().Header.Get(SignatureHeader)
	if !Verify(w.AuthToken, w.PublicURL, c.Request().RequestURI, body, sig) {
		w.Log.Warn("twilio webhook refused: bad or missing signature", "route", c.Path())
		return nil, echo.NewHTTPError(http.StatusForbidden, "invalid signature")
	}
	// Twilio always posts a form; a signed body sent as anything else was
	// not sent by Twilio as it documents, and is not read.
	if mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationForm {
		return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the webhook as application/x-www-form-urlencoded")
	}
	return body, nil
}

// HandleInbound receives an SMS or WhatsApp message. It answers with empty
// TwiML once the turn is stored; replies go out through the outbox. Only an
// unknown sender is answered in the TwiML itself, so that nothing about
// them need be stored.
func (w *Webhooks) HandleInbound(c echo.Context) error {
	body, err := w.verifiedBody(c)
	if err != nil {
		return err
	}
	msg, err := ParseInbound(body)
	problem := conversation.NoProblem
	switch {
	case errors.Is(err, ErrMalformed):
		return echo.NewHTTPError(http.StatusBadRequest, "malformed webhook")
	case errors.Is(err, ErrTooLong):
		problem = conversation.TooLong
	case errors.Is(err, ErrInvalidText):
		problem = conversation.InvalidText
	case err != nil:
		return echo.NewHTTPError(http.StatusBadRequest, "malformed webhook")
	case msg.MediaOnly:
		problem = conversation.MediaOnly
	}
	out, err := w.Conversation.Handle(c.Request().Context(), conversation.Inbound{
		Channel:   msg.Channel,
		Address:   msg.From,
		Text:      msg.Body,
		Problem:   problem,
		DedupeKey: "twilio:" + msg.MessageSid,
	})
	if err != nil {
		return err // 5xx: nothing was acknowledged, the provider may retry
	}
	if w.Wake != nil && len(out.Direct) == 0 && !out.Duplicate {
		w.Wake()
	}
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(TwiML(out.Direct)))
}

// HandleStatus records a delivery status. The message is found by our own
// ID in the callback URL's query, which Twilio signs along with the URL, so
// that a status finds its message even when the answer to the send that
// carried it was lost; the status brings Twilio's SID with it.
func (w *Webhooks) HandleStatus(c echo.Context) error {
	body, err := w.verifiedBody(c)
	if err != nil {
		return err
	}
	st, err := ParseStatus(body)
	switch {
	case errors.Is(err, ErrUnknownStatus):
		return c.NoContent(http.StatusNoContent) // a status Twilio added later: nothing to do, do not make it retry
	case err != nil:
		return echo.NewHTTPError(http.StatusBadRequest, "malformed status callback")
	}
	id := c.QueryParam("id")
	if id == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "status callback without a message id")
	}
	err = w.Statuses.ApplyStatus(c.Request().Context(), id, st.MessageSid, st.Status, st.ErrorCode)
	if errors.Is(err, store.ErrNotFound) {
		return c.NoContent(http.StatusNoContent) // erased since: nothing to update
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TwiML is the webhook answer: empty <Response/>, or one <Message> per
// direct reply, escaped.
func TwiML(messages []string) string {
	if len(messages) == 0 {
		return EmptyTwiML
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response>`)
	for _, m := range messages {
		b.WriteString("<Message>")
		_ = xml.EscapeText(&b, []byte(m))
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	return b.String()
}
