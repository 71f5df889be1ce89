//! Reading what checkout decides on: the fulfilling branch, the caller's cart with its
//! products, the slot, the requested saved card and the caller's other cards, and the branch's
//! stock rows.

use bigdecimal::BigDecimal;
use chrono::NaiveTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Numeric, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::checkout::{
    BranchFact, CheckoutFacts, CheckoutRequest, LineFact, PaymentChoice, SlotFact, TokenFact,
};
use mami_domain::identity::UserId;
use mami_domain::orders::Fulfillment;

use crate::money::to_money;
use crate::schema::{branches, carts, delivery_slots, payment_tokens};
use crate::sql::prepared;
use crate::stock;

/// What the facts are read for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Purpose {
    /// Nothing locked; no slot or card.
    Preview,
    /// The cart and the stock rows locked (cart first, then the caller's cards when the paid
    /// one becomes the default, then stock in id order).
    Order(PaymentChoice),
}

/// One row of [`CART_LINES`]: one line of the cart (all `NULL` for an empty cart).
#[derive(QueryableByName)]
struct CartLineRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    product_id: Option<i64>,
    #[diesel(sql_type = Nullable<Integer>)]
    quantity: Option<i32>,
    #[diesel(sql_type = Nullable<Numeric>)]
    unit_price: Option<BigDecimal>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    sku: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    active: Option<bool>,
}

/// Cart `$1` if it is user `$2`'s, with its lines and their products by product id.
const CART_LINES: &str = "SELECT ci.product_id, ci.quantity, ci.unit_price, p.name, \
     p.sku, p.is_active AS active FROM carts c \
     LEFT JOIN cart_items ci ON ci.cart_id = c.id LEFT JOIN products p ON p.id = ci.product_id \
     WHERE c.id = $1 AND c.user_id = $2 ORDER BY ci.product_id";

/// The caller's cart's lines, if the cart is theirs: one statement, or two for an order,
/// which locks the cart row first so that the lines it reads are the ones the lock protects.
async fn cart_lines(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest,
    lock: bool,
) -> QueryResult<Option<Vec<LineFact>>> {
    if lock {
        let locked: Option<i64> = carts::table
            .filter(carts::id.eq(request.cart_id))
            .filter(carts::user_id.eq(request.user.0))
            .select(carts::id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        if locked.is_none() {
            return Ok(None);
        }
    }
    let rows: Vec<CartLineRow> = prepared(
        diesel::sql_query(CART_LINES)
            .bind::<BigInt, _>(request.cart_id)
            .bind::<BigInt, _>(request.user.0),
    )
    .load(conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let line = |r: CartLineRow| {
        Some(LineFact {
            product_id: r.product_id?,
            quantity: r.quantity?,
            unit_price: to_money(&r.unit_price?),
            name: r.name?,
            sku: r.sku?,
            active: r.active?,
        })
    };
    Ok(Some(rows.into_iter().filter_map(line).collect()))
}

async fn slot(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<SlotFact>> {
    let row: Option<(i64, i16, NaiveTime, NaiveTime, bool)> = delivery_slots::table
        .find(id)
        .select((
            delivery_slots::branch_id,
            delivery_slots::day_of_week,
            delivery_slots::start_time,
            delivery_slots::end_time,
            delivery_slots::is_active,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(branch_id, day_of_week, start, end, active)| SlotFact {
            id,
            branch_id,
            day_of_week,
            start,
            end,
            active,
        }),
    )
}

type TokenRow = (i64, String, bool, bool);

const TOKEN_COLUMNS: (
    payment_tokens::id,
    payment_tokens::provider_token,
    payment_tokens::is_active,
    payment_tokens::is_default,
) = (
    payment_tokens::id,
    payment_tokens::provider_token,
    payment_tokens::is_active,
    payment_tokens::is_default,
);

fn token_fact((id, provider_token, active, is_default): TokenRow) -> TokenFact {
    TokenFact {
        id,
        provider_token,
        active,
        is_default,
    }
}

/// The user's saved card `id` (active or not, if it is theirs) and their active cards by id,
/// in one read; locked when the default is about to change, so that two changes of the
/// default serialise instead of colliding on the one-default index.
async fn cards(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: i64,
    lock: bool,
) -> QueryResult<(Option<TokenFact>, Vec<TokenFact>)> {
    let query = payment_tokens::table
        .filter(payment_tokens::user_id.eq(user.0))
        .filter(payment_tokens::is_active.or(payment_tokens::id.eq(id)))
        .order(payment_tokens::id.asc())
        .select(TOKEN_COLUMNS);
    let rows: Vec<TokenRow> = if lock {
        query.for_update().load(conn).await?
    } else {
        query.load(conn).await?
    };
    let facts: Vec<TokenFact> = rows.into_iter().map(token_fact).collect();
    let requested = facts.iter().find(|t| t.id == id).cloned();
    Ok((requested, facts.into_iter().filter(|t| t.active).collect()))
}

/// Reads the facts of `request` fulfilled by `branch`.
pub(super) async fn load(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest,
    branch: i64,
    purpose: Purpose,
) -> QueryResult<CheckoutFacts> {
    let lock = matches!(purpose, Purpose::Order(_));
    let found: Option<(i64, bool)> = branches::table
        .find(branch)
        .select((branches::id, branches::is_active))
        .first(conn)
        .await
        .optional()?;
    let cart = cart_lines(conn, request, lock).await?;
    let (mut slot_fact, mut token_fact, mut card_facts) = (None, None, Vec::new());
    if let Purpose::Order(payment) = purpose {
        if let (Fulfillment::Delivery, Some(id)) = (request.fulfillment, request.delivery_slot_id) {
            slot_fact = slot(conn, id).await?;
        }
        (token_fact, card_facts) = cards(
            conn,
            request.user,
            payment.token_id,
            payment.save_as_default,
        )
        .await?;
    }
    let products: Vec<i64> = cart.iter().flatten().map(|l| l.product_id).collect();
    let stock = if lock {
        stock::lock(conn, branch, &products).await?
    } else {
        stock::read(conn, branch, &products).await?
    };
    Ok(CheckoutFacts {
        branch: found.map(|(id, active)| BranchFact { id, active }),
        cart,
        slot: slot_fact,
        token: token_fact,
        cards: card_facts,
        stock,
    })
}
