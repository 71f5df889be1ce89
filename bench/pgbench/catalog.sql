-- catalog: 4 statements captured by bench/capture.sh; do not edit.
\set uid :ubase + :client_id
\set cid :cbase + :client_id
\set tid :tbase + :client_id
-- catalog
SELECT :s0p1;
-- catalog
SELECT COUNT(*) FROM "products" WHERE ("products"."is_active" = :s1p1);
-- catalog
SELECT "products"."id", "products"."name", "products"."sku", "products"."category_id", "products"."price", "products"."old_price", "products"."unit", "products"."nutritional_info", "products"."is_organic", "products"."description", "products"."bin_location", "products"."image_url", "products"."is_active", "products"."created_at" FROM "products" WHERE ("products"."is_active" = :s2p1) ORDER BY "products"."name" ASC, "products"."id" ASC LIMIT :s2p2 OFFSET :s2p3;
-- catalog
SELECT "inventory"."product_id", sum("inventory"."available_quantity") FROM "inventory" WHERE ("inventory"."product_id" = ANY(:s3p1)) GROUP BY "inventory"."product_id";
