package httpjson_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"tether/internal/httpjson"
)

func TestWriteAndError(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(*httptest.ResponseRecorder)
		code  int
		want  map[string]any
	}{
		{"value", func(w *httptest.ResponseRecorder) { httpjson.Write(w, 202, map[string]any{"info": "ok"}) }, 202, map[string]any{"info": "ok"}},
		{"error", func(w *httptest.ResponseRecorder) { httpjson.Error(w, 404, `no "x"`) }, 404, map[string]any{"error": `no "x"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.write(w)
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != tt.code || len(got) != 1 {
				t.Fatalf("got %d %q (%v)", w.Code, w.Body, err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
				t.Errorf("headers: Content-Type %q, Cache-Control %q", ct, cc)
			}
		})
	}
}
