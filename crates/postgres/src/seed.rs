//! Demo data: the warehouse, a store and one user per role. Safe to run again: rows that
//! exist (by name or e-mail) are left as they are.

use bigdecimal::BigDecimal;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::identity::{PasswordHash, Role};
use mami_domain::{InfraError, Money};

use crate::Database;
use crate::error::Tx;
use crate::identity::DbRole;
use crate::money::to_decimal;
use crate::schema::{branches, categories, products, users};
use crate::seed_data::{BRANCHES, CATEGORIES, STAPLES, Staple};

/// Name of the seeded warehouse branch (the delivery source).
pub const WAREHOUSE_NAME: &str = "Mami Central Warehouse";

/// The demo users, one per role; their password is [`DEMO_PASSWORD`].
pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("customer@mami.local", "Dana Customer", Role::Customer),
    ("employee@mami.local", "Eli Employee", Role::Employee),
    ("manager@mami.local", "Maya Manager", Role::Manager),
    ("admin@mami.local", "Avi Admin", Role::Admin),
];

/// Password of every demo user (documented in the README; never use the seed in production).
pub const DEMO_PASSWORD: &str = "Mami2026!";

/// What the seed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub warehouse_id: i64,
    pub branches_created: usize,
    pub users_created: usize,
    pub categories_created: usize,
    pub products_created: usize,
    pub inventory_created: usize,
    pub slots_created: usize,
}

impl Database {
    /// Creates the minimum demo data. `hash` turns the demo password into a stored hash.
    pub async fn seed_minimum(
        &self,
        demo_password_hash: &PasswordHash,
    ) -> Result<SeedReport, InfraError> {
        self.transaction(async |conn| {
            let mut branches_created = 0;
            for (name, address) in &BRANCHES[..2] {
                branches_created += diesel::insert_into(branches::table)
                    .values((branches::name.eq(name), branches::address.eq(address)))
                    .on_conflict(branches::name)
                    .do_nothing()
                    .execute(conn)
                    .await?;
            }
            let warehouse_id: i64 = branches::table
                .filter(branches::name.eq(WAREHOUSE_NAME))
                .select(branches::id)
                .first(conn)
                .await?;
            let mut users_created = 0;
            for (email, name, role) in DEMO_USERS {
                users_created += diesel::insert_into(users::table)
                    .values((
                        users::email.eq(email),
                        users::full_name.eq(name),
                        users::password_hash.eq(&demo_password_hash.0),
                        users::role.eq(DbRole::from(role)),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
            }
            Ok::<_, Tx<InfraError>>(SeedReport {
                warehouse_id,
                branches_created,
                users_created,
                categories_created: 0,
                products_created: 0,
                inventory_created: 0,
                slots_created: 0,
            })
        })
        .await
    }
}

/// A stable pseudo-random number in `0..modulo` for `(a, b)` (the seed must be repeatable).
fn spread(a: i64, b: i64, modulo: i64) -> i64 {
    let x = (a.wrapping_mul(2_654_435_761) ^ b.wrapping_mul(40_503)).rem_euclid(1_000_003);
    x % modulo
}

impl Database {
    /// The demo supermarket: [`Database::seed_minimum`], then the other stores, 15 categories,
    /// 180 products in English and Hebrew, inventory at every branch and delivery slots
    /// (08:00-20:00 in two-hour windows) on every weekday. With `extra_products`, that many
    /// generated products more (for benchmarks). Existing rows are left as they are.
    pub async fn seed_demo(
        &self,
        demo_password_hash: &PasswordHash,
        extra_products: u32,
    ) -> Result<SeedReport, InfraError> {
        let mut report = self.seed_minimum(demo_password_hash).await?;
        self.transaction(async |conn| {
            report.branches_created += insert_stores(conn).await?;
            report.categories_created = insert_categories(conn).await?;
            let mut created = insert_staples(conn).await?;
            if extra_products > 0 {
                let count = i32::try_from(extra_products).unwrap_or(i32::MAX);
                let generated: Vec<NewId> = diesel::sql_query(GENERATE_PRODUCTS)
                    .bind::<Integer, _>(count)
                    .load(conn)
                    .await?;
                created.extend(generated.into_iter().map(|g| g.id));
            }
            report.products_created = created.len();
            // The pictures are drawn by the API itself, per product id (known only now).
            diesel::sql_query(SET_IMAGE_URLS)
                .bind::<Array<BigInt>, _>(&created)
                .execute(conn)
                .await?;
            report.inventory_created = diesel::sql_query(STOCK_EVERY_BRANCH)
                .bind::<BigInt, _>(report.warehouse_id)
                .execute(conn)
                .await?;
            // The demo customer's saved card (the React client pays with token id 1).
            diesel::sql_query(DEMO_CARD).execute(conn).await?;
            report.slots_created = diesel::sql_query(WEEKLY_SLOTS).execute(conn).await?;
            Ok::<_, Tx<InfraError>>(())
        })
        .await?;
        Ok(report)
    }
}

/// The stores beyond the warehouse and the first store.
async fn insert_stores(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let rows: Vec<_> = BRANCHES[2..]
        .iter()
        .map(|(n, a)| (branches::name.eq(*n), branches::address.eq(*a)))
        .collect();
    diesel::insert_into(branches::table)
        .values(&rows)
        .on_conflict(branches::name)
        .do_nothing()
        .execute(conn)
        .await
}

async fn insert_categories(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let rows: Vec<_> = CATEGORIES
        .iter()
        .map(|(name, slug, hebrew, description)| {
            (
                categories::name.eq(*name),
                categories::icon_slug.eq(*slug),
                categories::description.eq(format!("{hebrew} — {description}")),
            )
        })
        .collect();
    diesel::insert_into(categories::table)
        .values(&rows)
        .on_conflict(categories::name)
        .do_nothing()
        .execute(conn)
        .await
}

/// A seeded product.
#[derive(Insertable)]
#[diesel(table_name = products)]
struct StapleRow {
    name: String,
    sku: String,
    category_id: i64,
    price: BigDecimal,
    old_price: Option<BigDecimal>,
    unit: String,
    nutritional_info: Option<serde_json::Value>,
    is_organic: bool,
    description: String,
    bin_location: String,
}

/// Every staple of every category, as a single item and as a family pack.
/// Returns the ids of the products it created.
async fn insert_staples(conn: &mut AsyncPgConnection) -> QueryResult<Vec<i64>> {
    let ids: Vec<(String, i64)> = categories::table
        .select((categories::name, categories::id))
        .load(conn)
        .await?;
    let category_id = |name: &str| ids.iter().find(|(n, _)| n == name).map_or(0, |(_, id)| *id);
    let mut rows = Vec::new();
    for (ci, (category, slug, _, _)) in CATEGORIES.iter().enumerate() {
        for (pi, staple) in STAPLES[ci].iter().enumerate() {
            for family in [false, true] {
                rows.push(staple_row(
                    (ci, slug),
                    pi,
                    staple,
                    family,
                    category_id(category),
                ));
            }
        }
    }
    diesel::insert_into(products::table)
        .values(&rows)
        .on_conflict(products::sku)
        .do_nothing()
        .returning(products::id)
        .get_results(conn)
        .await
}

/// Staple `pi` of category `ci` (whose icon slug is `slug`), single or family pack.
fn staple_row(
    (ci, slug): (usize, &str),
    pi: usize,
    &(name, hebrew, unit, price, organic): &Staple,
    family: bool,
    category_id: i64,
) -> StapleRow {
    let code = slug.to_ascii_uppercase().replace('_', "");
    let suffix = if family { "-F" } else { "" };
    let sku = format!("{}-{:02}{suffix}", &code[..code.len().min(5)], pi + 1);
    let (name, unit, price) = if family {
        (
            format!("{name} Family Pack"),
            format!("3 x {unit}"),
            price * 27 / 10,
        )
    } else {
        (name.to_owned(), unit.to_owned(), price)
    };
    let i = i64::try_from(ci * 12 + pi * 2 + usize::from(family)).unwrap_or(0);
    let old_price = (spread(i, 7, 4) == 0).then(|| to_decimal(Money(price + 200)));
    let description = if family {
        format!("{hebrew} — מארז משפחתי. Family pack of {name}.")
    } else {
        format!("{hebrew} — {name}, {unit}.")
    };
    let nutrition = matches!(slug, "drinks" | "snacks" | "pantry" | "breakfast").then(
        || serde_json::json!({"calories": 50 + spread(i, 3, 450), "protein_g": spread(i, 5, 20)}),
    );
    let aisle = (b'A' + u8::try_from(ci).unwrap_or(0)) as char;
    StapleRow {
        name,
        sku,
        category_id,
        price: to_decimal(Money(price)),
        old_price,
        unit,
        nutritional_info: nutrition,
        is_organic: organic,
        description,
        bin_location: format!("{aisle}-{:03}", pi * 10 + usize::from(family)),
    }
}

/// Stock of every product at every branch (more at the warehouse, `$1`).
const STOCK_EVERY_BRANCH: &str = "\
INSERT INTO inventory \
       (product_id, branch_id, available_quantity, reserved_quantity, reorder_point) \
SELECT p.id, b.id, \
       ((p.id * 2654435761 + b.id * 40503) % 1000003) % 120 \
       + CASE WHEN b.id = $1 THEN 40 ELSE 0 END, 0, 10 \
FROM products p CROSS JOIN branches b ON CONFLICT (product_id, branch_id) DO NOTHING";

/// The demo customer's default card, unless they have one.
const DEMO_CARD: &str = "\
INSERT INTO payment_tokens \
       (user_id, provider, provider_token, brand, last4, exp_month, exp_year, is_default) \
SELECT u.id, 'stripe', 'pm_card_visa', 'visa', '4242', 12, 2030, true FROM users u \
WHERE u.email = 'customer@mami.local' \
  AND NOT EXISTS (SELECT 1 FROM payment_tokens t WHERE t.user_id = u.id)";

/// Two-hour slots from 08:00 to 20:00 on every weekday at every branch, where the branch has no
/// slot (active or not) starting then: a slot an admin switched off stays off.
const WEEKLY_SLOTS: &str = "\
INSERT INTO delivery_slots (branch_id, day_of_week, start_time, end_time) \
SELECT b.id, d, make_time(h, 0, 0), make_time(h + 2, 0, 0) \
FROM branches b, generate_series(0, 6) d, generate_series(8, 18, 2) h \
WHERE NOT EXISTS (SELECT 1 FROM delivery_slots s WHERE s.branch_id = b.id \
  AND s.day_of_week = d AND s.start_time = make_time(h, 0, 0)) \
ON CONFLICT (branch_id, day_of_week, start_time) WHERE is_active DO NOTHING";

/// `$1` generated products named from English and Hebrew word lists, spread over the
/// categories (SKU `GEN-nnnnnnn`, so re-running adds nothing).
const GENERATE_PRODUCTS: &str = "\
WITH words AS (SELECT \
    ARRAY['Fresh','Organic','Classic','Premium','Light','Spicy','Sweet','Smoked','Crunchy', \
      'Creamy','Golden','Wild','Rustic','Natural','Family','Mini','Extra','Home-style', \
      'Roasted','Zesty'] AS adj, \
    ARRAY['טרי','אורגני','קלאסי','פרימיום','לייט','חריף','מתוק','מעושן','פריך','קרמי','זהוב', \
      'בר','כפרי','טבעי','משפחתי','מיני','אקסטרה','ביתי','קלוי','חמצמץ'] AS adj_he, \
    ARRAY['Tomato Sauce','Cheese','Cookies','Crackers','Granola Bar','Hummus','Salad','Juice', \
      'Yogurt','Soup','Noodles','Rice Cakes','Olives','Pickles','Muffins','Pretzels','Coffee', \
      'Tea','Lentils','Dates'] AS noun, \
    ARRAY['רוטב עגבניות','גבינה','עוגיות','קרקרים','חטיף גרנולה','חומוס','סלט','מיץ','יוגורט', \
      'מרק','אטריות','פריכיות','זיתים','חמוצים','מאפינס','בייגלה','קפה','תה','עדשים', \
      'תמרים'] AS noun_he, \
    (SELECT array_agg(id ORDER BY id) FROM categories) AS cats) \
INSERT INTO products \
       (name, sku, category_id, price, unit, description, bin_location, is_organic) \
SELECT adj[1 + i % 20] || ' ' || noun[1 + (i / 20) % 20] || ' ' || i, \
       'GEN-' || lpad(i::text, 7, '0'), \
       cats[1 + i % array_length(cats, 1)], \
       round((1 + (i * 7919) % 19999 / 100.0)::numeric, 2), \
       'unit', \
       noun_he[1 + (i / 20) % 20] || ' ' || adj_he[1 + i % 20] || ' — generated product ' || i, \
       'G-' || lpad((i % 1000)::text, 3, '0'), \
       i % 5 = 0 \
FROM words, generate_series(1, $1) AS i \
ON CONFLICT (sku) DO NOTHING \
RETURNING id";

/// Points the products created by this seed (`$1`) at the picture the API draws for each
/// (`GET /api/v1/images/products/{id}.svg`, relative, so it works through the React client's
/// `/api` proxy). Also repairs databases seeded before, whose demo images pointed at a host that
/// does not exist.
const SET_IMAGE_URLS: &str = "\
UPDATE products SET image_url = '/api/v1/images/products/' || id || '.svg' \
WHERE id = ANY($1) OR image_url LIKE 'https://images.mami.example/products/%'";

/// The id of a row a statement returned.
#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}
