package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-redis/redis/v8"
	log "github.com/sirupsen/logrus"
)

type product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int    `json:"price_cents"`
}

func productsHandler(db *sql.DB, rdb *redis.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if cached, err := rdb.Get(ctx, "products").Result(); err == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(cached))
			return
		}
		rows, err := db.QueryContext(ctx, "SELECT sku, name, price_cents FROM products")
		if err != nil {
			// No trace id here: the log line cannot be linked to its trace.
			log.WithError(err).Error("query products")
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		var out []product
		for rows.Next() {
			var p product
			if err := rows.Scan(&p.SKU, &p.Name, &p.PriceCents); err != nil {
				log.WithError(err).Error("scan product")
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			out = append(out, p)
		}
		body, _ := json.Marshal(out)
		rdb.Set(ctx, "products", body, 30*time.Second)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}
