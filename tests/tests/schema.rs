//! The migrations: re-running is a no-op, and the constraints back the business rules.

use diesel_async::RunQueryDsl;
use mami_postgres::Database;
use mami_tests::TestDb;
use std::time::Duration;

#[tokio::test]
async fn migrate_twice_is_a_no_op() -> anyhow::Result<()> {
    let t = TestDb::new().await?;
    let db = Database::connect(&t.url, 2, Duration::from_secs(10))?;
    assert!(
        db.migrate().await?.is_empty(),
        "the template is fully migrated"
    );
    assert!(db.migrations_current().await?);
    assert!(db.migrate().await?.is_empty());
    Ok(())
}

async fn fails(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> bool {
    diesel::sql_query(sql).execute(conn).await.is_err()
}

#[tokio::test]
async fn constraints_refuse_invalid_rows() -> anyhow::Result<()> {
    let t = TestDb::new().await?;
    let mut c = t.connect().await?;
    for sql in [
        "INSERT INTO branches (id, name, address) VALUES (1, 'Warehouse', 'Somewhere 1')",
        "INSERT INTO categories (id, name) VALUES (1, 'Dairy')",
        "INSERT INTO products (id, name, sku, category_id, price) \
         VALUES (1, 'Milk', 'MLK-1', 1, 6.90)",
        "INSERT INTO inventory (product_id, branch_id, available_quantity) VALUES (1, 1, 5)",
        "INSERT INTO users (id, email, full_name, password_hash) VALUES (1, 'a@b.co', 'A B', 'x')",
    ] {
        diesel::sql_query(sql).execute(&mut c).await?;
    }
    assert!(
        fails(
            &mut c,
            "UPDATE inventory SET available_quantity = available_quantity - 6"
        )
        .await,
        "stock never below zero"
    );
    assert!(
        fails(
            &mut c,
            "INSERT INTO inventory (product_id, branch_id) VALUES (1, 1)"
        )
        .await,
        "one inventory row per branch and product"
    );
    assert!(
        fails(
            &mut c,
            "INSERT INTO products (name, sku, category_id, price) VALUES ('Milk 2', 'MLK-1', 1, 1)"
        )
        .await,
        "unique SKU"
    );
    assert!(
        fails(
            &mut c,
            "INSERT INTO products (name, sku, category_id, price) VALUES ('Bad', 'B-1', 1, -1)"
        )
        .await,
        "no negative price"
    );
    assert!(
        fails(
            &mut c,
            "INSERT INTO users (email, full_name, password_hash) VALUES ('A@B.CO', 'A B', 'x')"
        )
        .await,
        "e-mail unique regardless of case"
    );
    assert!(
        fails(&mut c, "INSERT INTO categories (name) VALUES ('Dairy')").await,
        "unique category name"
    );
    diesel::sql_query("INSERT INTO carts (id, user_id) VALUES (1, 1)")
        .execute(&mut c)
        .await?;
    assert!(
        fails(&mut c, "INSERT INTO carts (user_id) VALUES (1)").await,
        "one cart per user"
    );
    assert!(
        fails(
            &mut c,
            "INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES (1, 1, 0, 1)"
        )
        .await,
        "positive quantity"
    );
    diesel::sql_query(
        "INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES (1, 1, 1, 1)",
    )
    .execute(&mut c)
    .await?;
    assert!(
        fails(
            &mut c,
            "INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES (1, 1, 1, 1)"
        )
        .await,
        "one line per product"
    );
    let slot = |values: &str| {
        format!(
            "INSERT INTO delivery_slots (branch_id, day_of_week, start_time, end_time) \
             VALUES {values}"
        )
    };
    assert!(
        fails(&mut c, &slot("(1, 1, '06:30', '08:00')")).await,
        "exact two-hour slot"
    );
    assert!(
        fails(&mut c, &slot("(1, 7, '08:00', '10:00')")).await,
        "weekday 0..6"
    );
    assert!(
        fails(&mut c, &slot("(1, 1, '21:00', '23:00')")).await,
        "window ends by 22:00"
    );
    diesel::sql_query(slot("(1, 1, '06:00', '08:00')"))
        .execute(&mut c)
        .await?;
    let settings = "INSERT INTO global_settings (id, delivery_min, delivery_fee, free_threshold) \
                    VALUES (2, 1, 1, 1)";
    assert!(fails(&mut c, settings).await, "one settings row");
    Ok(())
}
