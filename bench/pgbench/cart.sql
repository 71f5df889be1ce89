-- cart: 8 statements captured by bench/capture.sh; do not edit.
\set uid :ubase + :client_id
\set cid :cbase + :client_id
\set tid :tbase + :client_id
-- cart
SELECT :s0p1;
-- cart
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s1p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s1p3;
-- cart
SELECT :s2p1;
-- cart
BEGIN;
-- cart
INSERT INTO "carts" ("user_id") VALUES (:uid) ON CONFLICT ("user_id") DO NOTHING;
-- cart
SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid) LIMIT :s5p2 FOR UPDATE;
-- cart
SELECT "cart_items"."id", "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."image_url" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."id" ASC;
-- cart
COMMIT;
