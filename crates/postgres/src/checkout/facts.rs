//! Reading what checkout decides on: the fulfilling branch, the caller's cart with its
//! products, the slot, the requested saved card and the caller's other cards, and the branch's
//! stock rows.

use bigdecimal::BigDecimal;
use chrono::NaiveTime;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::checkout::{
    BranchFact, CheckoutFacts, CheckoutRequest, LineFact, PaymentChoice, SlotFact, TokenFact,
};
use mami_domain::identity::UserId;
use mami_domain::orders::Fulfillment;

use crate::money::to_money;
use crate::schema::{branches, cart_items, carts, delivery_slots, payment_tokens, products};
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

/// The caller's cart id (locked for an order), if the cart is theirs.
async fn cart_id(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest,
    lock: bool,
) -> QueryResult<Option<i64>> {
    let query = carts::table
        .filter(carts::id.eq(request.cart_id))
        .filter(carts::user_id.eq(request.user.0))
        .select(carts::id);
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

async fn lines(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<Vec<LineFact>> {
    let rows: Vec<(i64, i32, BigDecimal, String, String, bool)> = cart_items::table
        .inner_join(products::table)
        .filter(cart_items::cart_id.eq(cart_id))
        .order(cart_items::product_id.asc())
        .select((
            cart_items::product_id,
            cart_items::quantity,
            cart_items::unit_price,
            products::name,
            products::sku,
            products::is_active,
        ))
        .load(conn)
        .await?;
    let line = |(product_id, quantity, price, name, sku, active)| LineFact {
        product_id,
        quantity,
        unit_price: to_money(&price),
        name,
        sku,
        active,
    };
    Ok(rows.into_iter().map(line).collect())
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

/// The user's saved card `id` (active or not), if it is theirs.
async fn token(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: i64,
) -> QueryResult<Option<TokenFact>> {
    let row: Option<TokenRow> = payment_tokens::table
        .filter(payment_tokens::id.eq(id))
        .filter(payment_tokens::user_id.eq(user.0))
        .select(TOKEN_COLUMNS)
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(token_fact))
}

/// The user's active cards by id; locked when the default is about to change, so that two
/// changes of the default serialise instead of colliding on the one-default index.
async fn cards(
    conn: &mut AsyncPgConnection,
    user: UserId,
    lock: bool,
) -> QueryResult<Vec<TokenFact>> {
    let query = payment_tokens::table
        .filter(payment_tokens::user_id.eq(user.0))
        .filter(payment_tokens::is_active.eq(true))
        .order(payment_tokens::id.asc())
        .select(TOKEN_COLUMNS);
    let rows: Vec<TokenRow> = if lock {
        query.for_update().load(conn).await?
    } else {
        query.load(conn).await?
    };
    Ok(rows.into_iter().map(token_fact).collect())
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
    let cart = match cart_id(conn, request, lock).await? {
        Some(id) => Some(lines(conn, id).await?),
        None => None,
    };
    let (mut slot_fact, mut token_fact, mut card_facts) = (None, None, Vec::new());
    if let Purpose::Order(payment) = purpose {
        if let (Fulfillment::Delivery, Some(id)) = (request.fulfillment, request.delivery_slot_id) {
            slot_fact = slot(conn, id).await?;
        }
        token_fact = token(conn, request.user, payment.token_id).await?;
        card_facts = cards(conn, request.user, payment.save_as_default).await?;
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
