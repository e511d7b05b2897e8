package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The API handler end to end on the embedded store: decode, authorize,
// validate, one fsynced write, encode.
func BenchmarkHandlerCreate(b *testing.B) {
	f := newFixture(b)
	i := 0
	for b.Loop() {
		i++
		r := f.create(fmt.Sprintf(`{"firstName":"Bench","lastName":"User","email":"bench%d@example.com","phone":"+447911123456","role":"staff"}`, i))
		if r.status != http.StatusCreated {
			b.Fatal(r.raw)
		}
	}
}

func BenchmarkHandlerList(b *testing.B) {
	f := newFixture(b)
	for i := range 1000 {
		status := "true"
		if i%3 == 0 {
			status = "false"
		}
		if r := f.create(fmt.Sprintf(`{"firstName":"B","lastName":"U%d","email":"u%d@example.com","role":"staff","holdInvite":%s}`, i, i, status)); r.status != 201 {
			b.Fatal(r.raw)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r := f.do(f.request(http.MethodGet, "/users?status=introduction&limit=50", ""))
		if r.status != 200 {
			b.Fatal(r.raw)
		}
	}
}
