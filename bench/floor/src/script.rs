//! A read workload's pgbench script (`bench/pgbench/W.pgbench` and `W.vars`, written by
//! `bench/capture.sh`) turned into statements with `$n` parameters: the same SQL, in the same
//! order, with the same values, that pgbench replays.

use std::collections::HashMap;

use anyhow::{Context, bail};

/// Where a parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal of the `.vars` file, as text; typed once PostgreSQL has said the type.
    Fixed(String),
    /// `base + k`, for the request's customer `k` (`\set uid :ubase + :client_id`).
    Customer(Base),
}

/// The three `\set` variables of the captured scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    User,
    Cart,
    Token,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement with `$1`, `$2`, … where the script has `:name`.
    pub sql: String,
    pub params: Vec<Value>,
}

/// Parses a script and its variables. Only what `bench/capture.sh` writes for a read workload
/// is accepted: comments, `\set X :Xbase + :client_id`, and one statement per line.
pub fn parse(script: &str, vars: &str) -> anyhow::Result<Vec<Statement>> {
    let mut known: HashMap<String, Value> = HashMap::new();
    for line in vars.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) = line
            .split_once('=')
            .with_context(|| format!("a vars line without '=': {line}"))?;
        known.insert(name.to_owned(), Value::Fixed(value.to_owned()));
    }
    let mut statements = Vec::new();
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("--") {
            continue;
        }
        if let Some(set) = line.strip_prefix("\\set ") {
            let (name, base) = set_line(set)?;
            known.insert(name, Value::Customer(base));
            continue;
        }
        if line.starts_with('\\') {
            bail!("the floor replays read scripts only; it does not know {line}");
        }
        statements.push(statement(line.trim_end_matches(';'), &known)?);
    }
    Ok(statements)
}

fn set_line(set: &str) -> anyhow::Result<(String, Base)> {
    let words: Vec<&str> = set.split_whitespace().collect();
    let base = match words.as_slice() {
        [_, ":ubase", "+", ":client_id"] => Base::User,
        [_, ":cbase", "+", ":client_id"] => Base::Cart,
        [_, ":tbase", "+", ":client_id"] => Base::Token,
        _ => bail!("an unexpected \\set: {set}"),
    };
    Ok((words[0].to_owned(), base))
}

/// Replaces each `:name` of a known variable by its `$n` (one `$n` per name), as pgbench does;
/// `::` (a cast) and unknown names stay as they are.
fn statement(line: &str, known: &HashMap<String, Value>) -> anyhow::Result<Statement> {
    let mut sql = String::with_capacity(line.len());
    let mut names: Vec<&str> = Vec::new();
    let mut params = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(':') {
        sql.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(cast) = after.strip_prefix(':') {
            sql.push_str("::");
            rest = cast;
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match known.get(name) {
            Some(value) => {
                let n = match names.iter().position(|x| *x == name) {
                    Some(i) => i + 1,
                    None => {
                        names.push(name);
                        params.push(value.clone());
                        names.len()
                    }
                };
                sql.push_str(&format!("${n}"));
            }
            None => {
                sql.push(':');
                sql.push_str(name);
            }
        }
        rest = &after[len..];
    }
    sql.push_str(rest);
    Ok(Statement { sql, params })
}

/// Splits a PostgreSQL array literal of the `.vars` file (`{1,2,3}`; no quoting in them).
pub fn array_items(text: &str) -> anyhow::Result<Vec<&str>> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .with_context(|| format!("not an array literal: {text}"))?;
    if inner.contains('"') {
        bail!("quoted array items are not supported: {text}");
    }
    Ok(if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(',').collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "-- cart: 2 statements\n\
        \\set uid :ubase + :client_id\n\
        \\set cid :cbase + :client_id\n\
        -- cart\n\
        SELECT a FROM t WHERE id = :uid AND x = ANY(:s0p1) LIMIT :s0p3;\n\
        SELECT (SELECT sum(q) FROM i WHERE p = :s1p2)::bigint, :s1p2, ':lit' \
        FROM c WHERE c.user_id = :uid;\n";
    const VARS: &str = "s0p3=1\ns0p1={4ba4bddc-2a27-4d27-92a0-e5148e429325}\ns1p2=0\n";

    #[test]
    fn numbers_each_name_once_per_statement_and_leaves_casts_alone() -> anyhow::Result<()> {
        let s = parse(SCRIPT, VARS)?;
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].sql,
            "SELECT a FROM t WHERE id = $1 AND x = ANY($2) LIMIT $3"
        );
        assert_eq!(
            s[0].params,
            vec![
                Value::Customer(Base::User),
                Value::Fixed("{4ba4bddc-2a27-4d27-92a0-e5148e429325}".into()),
                Value::Fixed("1".into()),
            ]
        );
        assert_eq!(
            s[1].sql,
            "SELECT (SELECT sum(q) FROM i WHERE p = $1)::bigint, $1, ':lit' \
             FROM c WHERE c.user_id = $2"
        );
        assert_eq!(
            s[1].params,
            vec![Value::Fixed("0".into()), Value::Customer(Base::User)]
        );
        Ok(())
    }

    #[test]
    fn refuses_what_a_read_script_never_holds() {
        assert!(parse("\\startpipeline\n", "").is_err());
        assert!(parse("\\set uid random(1, 10)\n", "").is_err());
        assert!(parse("SELECT 1;\n", "no equals sign\n").is_err());
    }

    #[test]
    fn splits_array_literals() -> anyhow::Result<()> {
        assert_eq!(array_items("{11,12}")?, vec!["11", "12"]);
        assert_eq!(array_items("{}")?, Vec::<&str>::new());
        assert!(array_items("11,12").is_err());
        assert!(array_items("{\"a,b\"}").is_err());
        Ok(())
    }
}
