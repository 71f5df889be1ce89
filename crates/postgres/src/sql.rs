//! SQL functions and patterns shared by the adapters.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The most rows a multi-row `INSERT` may have and still be kept prepared: each row count is
/// its own statement text, so a connection keeps at most this many shapes of one insert.
pub(crate) const PREPARED_ROWS: usize = 16;

/// A statement kept prepared on its connection, like diesel's own static queries.
///
/// Diesel prepares some statements afresh on every execution — raw SQL (`sql_query`), every
/// `UPDATE`, `ON CONFLICT … DO UPDATE`, inserts whose `None`s may become `DEFAULT`, multi-row
/// inserts — because their text may differ between two executions of the same Rust type.
/// Each such execution costs an extra round trip (parse and describe), PostgreSQL's parsing
/// and planning, and a close. Wrapped here, the statement is cached by its text and bind
/// types instead (never by its Rust type), so a different text is a different statement and
/// nothing is ever executed under the wrong plan. Only wrap statements whose text comes in a
/// bounded number of shapes: every shape stays prepared for the connection's life.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q> {
    query: Q,
    keep: bool,
}

/// `query`, kept prepared (see [`Prepared`]).
pub(crate) fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared { query, keep: true }
}

/// A multi-row insert of `rows` rows, kept prepared up to [`PREPARED_ROWS`] rows.
pub(crate) fn prepared_rows<Q>(query: Q, rows: usize) -> Prepared<Q> {
    Prepared {
        query,
        keep: rows <= PREPARED_ROWS,
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, backend: &Pg) -> QueryResult<bool> {
        if self.keep {
            Ok(true)
        } else {
            self.query.is_safe_to_cache_prepared(backend)
        }
    }
}

/// No static id: the statement cache keys a `Prepared` by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// `%q%` for LIKE, with `%`, `_` and `\` in `q` matched literally.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("Milk 3%"), "%Milk 3\\%%");
        assert_eq!(like_pattern("a_b\\c"), "%a\\_b\\\\c%");
    }
}
