-- purchase: 103 statements captured by bench/capture.sh; do not edit.
\set uid :ubase + :client_id
\set cid :cbase + :client_id
\set tid :tbase + :client_id
-- purchase:add 1
SELECT :s0p1;
-- purchase:add 1
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s1p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s1p3;
-- purchase:add 1
SELECT :s2p1;
-- purchase:add 1
BEGIN;
-- purchase:add 1
INSERT INTO "carts" ("user_id") VALUES (:uid) ON CONFLICT ("user_id") DO NOTHING;
-- purchase:add 1
SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid) LIMIT :s5p2 FOR UPDATE;
-- purchase:add 1
SELECT "cart_items"."id", "cart_items"."quantity" FROM "cart_items" WHERE (("cart_items"."cart_id" = :cid) AND ("cart_items"."product_id" = :s6p2)) LIMIT :s6p3;
-- purchase:add 1
SELECT "products"."is_active", "products"."price" FROM "products" WHERE ("products"."id" = :s7p1) LIMIT :s7p2;
-- purchase:add 1
SELECT sum("inventory"."available_quantity") FROM "inventory" WHERE ("inventory"."product_id" = :s8p1) LIMIT :s8p2;
-- purchase:add 1
SELECT "inventory"."available_quantity" FROM "inventory" WHERE (("inventory"."product_id" = :s9p1) AND ("inventory"."branch_id" = :s9p2)) LIMIT :s9p3;
-- purchase:add 1
INSERT INTO "cart_items" ("cart_id", "product_id", "quantity", "unit_price") VALUES (:cid, :s10p2, :s10p3, :s10p4) ON CONFLICT ("cart_id", "product_id") DO UPDATE SET "quantity" = :s10p5, "unit_price" = :s10p6, "updated_at" = :s10p7 RETURNING "cart_items"."id" \gset cart_items_
\set u1 random(1, 1000000000000000)
-- purchase:add 1
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s11p1, :cid, :s11p3, NULL, :s11p5, :s11p6, :uid, :u1);
-- purchase:add 1
SELECT "cart_items"."id", "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."image_url" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."id" ASC;
-- purchase:add 1
COMMIT;
-- purchase:add 2
SELECT :s14p1;
-- purchase:add 2
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s15p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s15p3;
-- purchase:add 2
SELECT :s16p1;
-- purchase:add 2
BEGIN;
-- purchase:add 2
INSERT INTO "carts" ("user_id") VALUES (:uid) ON CONFLICT ("user_id") DO NOTHING;
-- purchase:add 2
SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid) LIMIT :s19p2 FOR UPDATE;
-- purchase:add 2
SELECT "cart_items"."id", "cart_items"."quantity" FROM "cart_items" WHERE (("cart_items"."cart_id" = :cid) AND ("cart_items"."product_id" = :s20p2)) LIMIT :s20p3;
-- purchase:add 2
SELECT "products"."is_active", "products"."price" FROM "products" WHERE ("products"."id" = :s21p1) LIMIT :s21p2;
-- purchase:add 2
SELECT sum("inventory"."available_quantity") FROM "inventory" WHERE ("inventory"."product_id" = :s22p1) LIMIT :s22p2;
-- purchase:add 2
SELECT "inventory"."available_quantity" FROM "inventory" WHERE (("inventory"."product_id" = :s23p1) AND ("inventory"."branch_id" = :s23p2)) LIMIT :s23p3;
-- purchase:add 2
INSERT INTO "cart_items" ("cart_id", "product_id", "quantity", "unit_price") VALUES (:cid, :s24p2, :s24p3, :s24p4) ON CONFLICT ("cart_id", "product_id") DO UPDATE SET "quantity" = :s24p5, "unit_price" = :s24p6, "updated_at" = :s24p7 RETURNING "cart_items"."id" \gset cart_items_
\set u2 random(1, 1000000000000000)
-- purchase:add 2
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s25p1, :cid, :s25p3, NULL, :s25p5, :s25p6, :uid, :u2);
-- purchase:add 2
SELECT "cart_items"."id", "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."image_url" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."id" ASC;
-- purchase:add 2
COMMIT;
-- purchase:add 3
SELECT :s28p1;
-- purchase:add 3
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s29p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s29p3;
-- purchase:add 3
SELECT :s30p1;
-- purchase:add 3
BEGIN;
-- purchase:add 3
INSERT INTO "carts" ("user_id") VALUES (:uid) ON CONFLICT ("user_id") DO NOTHING;
-- purchase:add 3
SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid) LIMIT :s33p2 FOR UPDATE;
-- purchase:add 3
SELECT "cart_items"."id", "cart_items"."quantity" FROM "cart_items" WHERE (("cart_items"."cart_id" = :cid) AND ("cart_items"."product_id" = :s34p2)) LIMIT :s34p3;
-- purchase:add 3
SELECT "products"."is_active", "products"."price" FROM "products" WHERE ("products"."id" = :s35p1) LIMIT :s35p2;
-- purchase:add 3
SELECT sum("inventory"."available_quantity") FROM "inventory" WHERE ("inventory"."product_id" = :s36p1) LIMIT :s36p2;
-- purchase:add 3
SELECT "inventory"."available_quantity" FROM "inventory" WHERE (("inventory"."product_id" = :s37p1) AND ("inventory"."branch_id" = :s37p2)) LIMIT :s37p3;
-- purchase:add 3
INSERT INTO "cart_items" ("cart_id", "product_id", "quantity", "unit_price") VALUES (:cid, :s38p2, :s38p3, :s38p4) ON CONFLICT ("cart_id", "product_id") DO UPDATE SET "quantity" = :s38p5, "unit_price" = :s38p6, "updated_at" = :s38p7 RETURNING "cart_items"."id" \gset cart_items_
\set u3 random(1, 1000000000000000)
-- purchase:add 3
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s39p1, :cid, :s39p3, NULL, :s39p5, :s39p6, :uid, :u3);
-- purchase:add 3
SELECT "cart_items"."id", "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."image_url" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."id" ASC;
-- purchase:add 3
COMMIT;
-- purchase:preview
SELECT :s42p1;
-- purchase:preview
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s43p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s43p3;
-- purchase:preview
SELECT :s44p1;
-- purchase:preview
SELECT "global_settings"."delivery_min", "global_settings"."delivery_fee", "global_settings"."free_threshold", "global_settings"."updated_at", "global_settings"."updated_by" FROM "global_settings" WHERE ("global_settings"."id" = :s45p1) LIMIT :s45p2;
-- purchase:preview
SELECT :s46p1;
-- purchase:preview
BEGIN;
-- purchase:preview
SELECT "branches"."id", "branches"."is_active" FROM "branches" WHERE ("branches"."id" = :s48p1) LIMIT :s48p2;
-- purchase:preview
SELECT "carts"."id" FROM "carts" WHERE (("carts"."id" = :cid) AND ("carts"."user_id" = :uid)) LIMIT :s49p3;
-- purchase:preview
SELECT "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."sku", "products"."is_active" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."product_id" ASC;
-- purchase:preview
SELECT "inventory"."id", "inventory"."product_id", "inventory"."available_quantity" FROM "inventory" WHERE (("inventory"."branch_id" = :s51p1) AND ("inventory"."product_id" = ANY(:s51p2))) ORDER BY "inventory"."id" ASC;
-- purchase:preview
COMMIT;
-- purchase:confirm
SELECT :s53p1;
-- purchase:confirm
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s54p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s54p3;
-- purchase:confirm
SELECT :s55p1;
-- purchase:confirm
SELECT "global_settings"."delivery_min", "global_settings"."delivery_fee", "global_settings"."free_threshold", "global_settings"."updated_at", "global_settings"."updated_by" FROM "global_settings" WHERE ("global_settings"."id" = :s56p1) LIMIT :s56p2;
-- purchase:confirm
SELECT :s57p1;
-- purchase:confirm
BEGIN;
\set u4 random(1, 1000000000000000)
\set u5 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "idempotency_keys" ("user_id", "key", "request_hash", "expires_at") VALUES (:uid, :u5, :u4, :s59p4) ON CONFLICT ("user_id", "key") DO NOTHING RETURNING "idempotency_keys"."id" \gset idempotency_keys_
-- purchase:confirm
SELECT "branches"."id", "branches"."is_active" FROM "branches" WHERE ("branches"."id" = :s60p1) LIMIT :s60p2;
-- purchase:confirm
SELECT "carts"."id" FROM "carts" WHERE (("carts"."id" = :cid) AND ("carts"."user_id" = :uid)) LIMIT :s61p3 FOR UPDATE;
-- purchase:confirm
SELECT "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."sku", "products"."is_active" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."product_id" ASC;
-- purchase:confirm
SELECT "delivery_slots"."branch_id", "delivery_slots"."day_of_week", "delivery_slots"."start_time", "delivery_slots"."end_time", "delivery_slots"."is_active" FROM "delivery_slots" WHERE ("delivery_slots"."id" = :s63p1) LIMIT :s63p2;
-- purchase:confirm
SELECT "payment_tokens"."id", "payment_tokens"."provider_token", "payment_tokens"."is_active", "payment_tokens"."is_default" FROM "payment_tokens" WHERE (("payment_tokens"."id" = :tid) AND ("payment_tokens"."user_id" = :uid)) LIMIT :s64p3;
-- purchase:confirm
SELECT "payment_tokens"."id", "payment_tokens"."provider_token", "payment_tokens"."is_active", "payment_tokens"."is_default" FROM "payment_tokens" WHERE (("payment_tokens"."user_id" = :uid) AND ("payment_tokens"."is_active" = :s65p2)) ORDER BY "payment_tokens"."id" ASC;
-- purchase:confirm
SELECT "inventory"."id", "inventory"."product_id", "inventory"."available_quantity" FROM "inventory" WHERE (("inventory"."branch_id" = :s66p1) AND ("inventory"."product_id" = ANY(:s66p2))) ORDER BY "inventory"."id" ASC FOR UPDATE;
\set u6 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "orders" ("order_number", "user_id", "subtotal_amount", "delivery_fee", "total_amount", "fulfillment_type", "status", "payment_status", "branch_id", "payment_token_id") VALUES (:u6, :uid, :s67p3, :s67p4, :s67p5, :s67p6, :s67p7, :s67p8, :s67p9, :tid) RETURNING "orders"."id" \gset orders_
-- purchase:confirm
INSERT INTO "order_items" ("order_id", "product_id", "name", "sku", "unit_price", "quantity") VALUES (:orders_id, :s68p2, :s68p3, :s68p4, :s68p5, :s68p6), (:orders_id, :s68p8, :s68p9, :s68p10, :s68p11, :s68p12), (:orders_id, :s68p14, :s68p15, :s68p16, :s68p17, :s68p18);
-- purchase:confirm
INSERT INTO "order_delivery_details" ("order_id", "delivery_slot_id", "address", "slot_start", "slot_end") VALUES (:orders_id, :s69p2, '', :s69p4, :s69p5);
-- purchase:confirm
UPDATE inventory AS i SET available_quantity = m.available, updated_at = :s70p3 FROM unnest(:s70p1::bigint[], :s70p2::integer[]) AS m(id, available) WHERE i.id = m.id;
\set u7 random(1, 1000000000000000)
\set u8 random(1, 1000000000000000)
\set u9 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s71p1, :s71p2, :s71p3, :s71p4, :s71p5, :s71p6, :uid, :u9), (:s71p9, :s71p10, :s71p11, :s71p12, :s71p13, :s71p14, :uid, :u8), (:s71p17, :s71p18, :s71p19, :s71p20, :s71p21, :s71p22, :uid, :u7);
\set u10 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "payments" ("order_id", "payment_token_id", "provider", "provider_idempotency_key", "amount_authorized") VALUES (:orders_id, :tid, :s72p3, :u10, :s72p5);
\set u11 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s73p1, :orders_id, :s73p3, NULL, :s73p5, NULL, :uid, :u11);
-- purchase:confirm
UPDATE "idempotency_keys" SET "order_id" = :orders_id, "updated_at" = :s74p2 WHERE ("idempotency_keys"."id" = :idempotency_keys_id);
-- purchase:confirm
COMMIT;
-- purchase:confirm
SELECT :s76p1;
-- purchase:confirm
BEGIN;
-- purchase:confirm
SELECT "orders"."order_number", "orders"."total_amount", "orders"."payment_status", "orders"."user_id", "orders"."branch_id" FROM "orders" WHERE ("orders"."id" = :orders_id) LIMIT :s78p2 FOR UPDATE;
-- purchase:confirm
SELECT "payments"."provider_payment_id" FROM "payments" WHERE ("payments"."order_id" = :orders_id) LIMIT :s79p2;
\set u12 random(1, 1000000000000000)
-- purchase:confirm
UPDATE "payments" SET "status" = :s80p1, "provider_payment_id" = :u12, "updated_at" = :s80p3 WHERE ("payments"."order_id" = :orders_id);
-- purchase:confirm
UPDATE "orders" SET "payment_status" = :s81p1, "updated_at" = :s81p2 WHERE ("orders"."id" = :orders_id);
-- purchase:confirm
DELETE FROM "cart_items" WHERE (("cart_items"."cart_id" = ANY(SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid))) AND ("cart_items"."product_id" = ANY(SELECT "order_items"."product_id" FROM "order_items" WHERE ("order_items"."order_id" = :orders_id))));
\set u13 random(1, 1000000000000000)
-- purchase:confirm
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s83p1, :orders_id, :s83p3, :s83p4, :s83p5, NULL, :uid, :u13);
-- purchase:confirm
UPDATE "idempotency_keys" SET "status" = :s84p1, "response_payload" = :s84p2, "status_code" = NULL, "updated_at" = :s84p4 WHERE ("idempotency_keys"."order_id" = :orders_id);
-- purchase:confirm
COMMIT;
-- purchase:order
SELECT :s86p1;
-- purchase:order
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s87p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s87p3;
-- purchase:order
SELECT :s88p1;
-- purchase:order
SELECT "orders"."id", "orders"."order_number", "orders"."status", "orders"."payment_status", "orders"."fulfillment_type", "orders"."branch_id", "orders"."subtotal_amount", "orders"."delivery_fee", "orders"."total_amount", "orders"."created_at" FROM "orders" WHERE (("orders"."id" = :orders_id) AND ("orders"."user_id" = :uid));
-- purchase:order
SELECT "order_items"."order_id", "order_items"."id", "order_items"."product_id", "order_items"."name", "order_items"."sku", "order_items"."unit_price", "order_items"."quantity", "order_items"."picked_status", "order_items"."picked_by", "order_items"."picked_at", "order_items"."removed_at" FROM "order_items" WHERE ("order_items"."order_id" = ANY(:s90p1)) ORDER BY "order_items"."id" ASC;
-- purchase:order
SELECT "order_delivery_details"."order_id", "order_delivery_details"."delivery_slot_id", "order_delivery_details"."address", "order_delivery_details"."slot_start", "order_delivery_details"."slot_end" FROM "order_delivery_details" WHERE ("order_delivery_details"."order_id" = ANY(:s91p1));
-- purchase:order
SELECT "order_pickup_details"."order_id", "order_pickup_details"."branch_id", "order_pickup_details"."pickup_window_start", "order_pickup_details"."pickup_window_end" FROM "order_pickup_details" WHERE ("order_pickup_details"."order_id" = ANY(:s92p1));
-- purchase:clear
SELECT :s93p1;
-- purchase:clear
SELECT "users"."id", "users"."email", "users"."full_name", "users"."phone", "users"."password_hash", "users"."role", "users"."is_active", "users"."token_version", "users"."default_branch_id", "users"."created_at", "users"."updated_at", EXISTS (SELECT "revoked_tokens"."jti", "revoked_tokens"."user_id", "revoked_tokens"."token_type", "revoked_tokens"."expires_at", "revoked_tokens"."revoked_at" FROM "revoked_tokens" WHERE ("revoked_tokens"."jti" = ANY(:s94p1))) FROM "users" WHERE ("users"."id" = :uid) LIMIT :s94p3;
-- purchase:clear
SELECT :s95p1;
-- purchase:clear
BEGIN;
-- purchase:clear
INSERT INTO "carts" ("user_id") VALUES (:uid) ON CONFLICT ("user_id") DO NOTHING;
-- purchase:clear
SELECT "carts"."id" FROM "carts" WHERE ("carts"."user_id" = :uid) LIMIT :s98p2 FOR UPDATE;
-- purchase:clear
DELETE FROM "cart_items" WHERE ("cart_items"."cart_id" = :cid);
\set u14 random(1, 1000000000000000)
-- purchase:clear
INSERT INTO "audit" ("entity_type", "entity_id", "action", "old_value", "new_value", "context", "actor_user_id", "request_id") VALUES (:s100p1, :cid, :s100p3, NULL, NULL, :s100p6, :uid, :u14);
-- purchase:clear
SELECT "cart_items"."id", "cart_items"."product_id", "cart_items"."quantity", "cart_items"."unit_price", "products"."name", "products"."image_url" FROM ("cart_items" INNER JOIN "products" ON ("cart_items"."product_id" = "products"."id")) WHERE ("cart_items"."cart_id" = :cid) ORDER BY "cart_items"."id" ASC;
-- purchase:clear
COMMIT;
