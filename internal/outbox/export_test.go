package outbox

// MarkSentPause is the first pause before recording a send again, for
// the tests outside the package.
const MarkSentPause = markSentPause
