package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/credvault/credvault/sealed"

	"gorm.io/gorm"
)

// idExpr is c's id column as text.
func idExpr(c sealed.Column) string {
	if c.IntID {
		return "CAST(" + c.ID + " AS TEXT)"
	}
	return c.ID
}

// scanSealed returns up to limit rows with an id after after, in id order.
func scanSealed(ctx context.Context, db *gorm.DB, c sealed.Column, after string, limit int) ([]sealed.Value, error) {
	cols := append([]string{idExpr(c), c.Ciphertext}, c.Extra...)
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s > ? ORDER BY %s LIMIT ?", strings.Join(cols, ", "), c.Table, idExpr(c), idExpr(c))
	rows, err := db.WithContext(ctx).Raw(q, after, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", c.Table, err)
	}
	defer rows.Close()
	var out []sealed.Value
	for rows.Next() {
		v := sealed.Value{Extra: make([]string, len(c.Extra))}
		dest := []any{&v.ID, &v.Ciphertext}
		for i := range v.Extra {
			dest = append(dest, &v.Extra[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan %s: %w", c.Table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", c.Table, err)
	}
	return out, nil
}

// replaceSealed writes next over a row's ciphertext if it still is prev,
// and reports whether it did.
func replaceSealed(ctx context.Context, db *gorm.DB, c sealed.Column, id string, prev, next []byte) (bool, error) {
	q := fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?", c.Table, c.Ciphertext, idExpr(c), c.Ciphertext)
	res := db.WithContext(ctx).Exec(q, next, id, prev)
	if res.Error != nil {
		return false, fmt.Errorf("re-encrypt %s: %w", c.Table, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Sealed is column c of db as a sealed.Set, for counting and
// re-encrypting its ciphertexts; ad gives a row's associated data. The
// platform's store and the reference service's storage both describe
// their ciphertexts with it.
func Sealed(db *gorm.DB, name string, c sealed.Column, ad func(sealed.Value) []byte) sealed.Set {
	return sealed.Set{
		Name: name,
		Scan: func(ctx context.Context, after string, limit int) ([]sealed.Row, error) {
			vs, err := scanSealed(ctx, db, c, after, limit)
			out := make([]sealed.Row, len(vs))
			for i, v := range vs {
				out[i] = sealed.Row{ID: v.ID, Ciphertext: v.Ciphertext, AD: ad(v)}
			}
			return out, err
		},
		Replace: func(ctx context.Context, id string, prev, next []byte) (bool, error) {
			return replaceSealed(ctx, db, c, id, prev, next)
		},
	}
}
