package release_test

import (
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

// edge is the worker as the stream reaches it, in Lambda and locally: the
// records decoded at the edge, the changes handed to the worker.
func edge(w *release.Worker) stream.Handler {
	return stream.Edge(item.DecodeChange, w.Changes)
}
