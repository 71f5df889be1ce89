//! A JSON body checked against the OpenAPI schema of its type before serde reads it.
//!
//! serde stops at the first problem; the reference (Pydantic) names every one. So the body
//! extractor first walks the parsed JSON along the schema that utoipa derives for every DTO
//! (the same one the OpenAPI document publishes) and collects every missing field, unknown
//! field, wrong type, broken declared bound (`minimum`, `maxLength`, …), broken domain rule
//! named by a `format` (`super::formats`) and NUL character.
//! On the way it turns integer strings into integers wherever the schema expects an integer:
//! the reference's ints in bodies are lax (`"5"` is 5), and browser forms send select values
//! as strings. Nothing here is written per DTO: deriving `Deserialize` and `ToSchema` is enough.
//! serde then reads the body; should it read one whose structure the schema refused, the
//! schema knew less than serde (an `alias`, a hand-written `value_type`), and only the rules
//! the schema declares are answered ([`is_structural`] tells them apart).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use mami_domain::FieldError;
use serde_json::{Map, Number, Value};

use super::formats;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, Array, ArrayItems, KnownFormat, Object, Schema, SchemaFormat, SchemaType,
    Type,
};

/// The message of a text that carries a NUL character (PostgreSQL cannot store one).
pub const NUL_MESSAGE: &str = "Text may not contain the NUL character";

/// The schema of one body type with the schemas it refers to.
pub struct Shape {
    root: RefOr<Schema>,
    components: HashMap<String, RefOr<Schema>>,
}

type Cache = RwLock<HashMap<TypeId, Arc<Shape>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

impl Shape {
    /// The shape of `T`, derived once per type and process.
    pub fn of<T: ToSchema + 'static>() -> Arc<Shape> {
        let id = TypeId::of::<T>();
        if let Some(shape) = cache().read().ok().and_then(|c| c.get(&id).cloned()) {
            return shape;
        }
        let mut components = Vec::new();
        T::schemas(&mut components);
        let shape = Arc::new(Shape {
            root: T::schema(),
            components: components.into_iter().collect(),
        });
        if let Ok(mut c) = cache().write() {
            c.insert(id, shape.clone());
        }
        shape
    }

    /// Checks `value` against the shape, converting integer strings in place; every problem
    /// found, in the order of the fields (none: serde may read it).
    pub fn conform(&self, value: &mut Value) -> Vec<FieldError> {
        let mut w = Walk {
            shape: self,
            loc: Vec::new(),
            errors: Vec::new(),
            depth: 0,
        };
        refuse_nul(value, &mut w);
        w.schema(&self.root, value);
        w.errors
    }

    fn resolve<'a>(&'a self, schema: &'a RefOr<Schema>) -> Option<&'a Schema> {
        match schema {
            RefOr::T(s) => Some(s),
            RefOr::Ref(r) => {
                let name = r.ref_location.rsplit('/').next()?;
                match self.components.get(name)? {
                    RefOr::T(s) => Some(s),
                    RefOr::Ref(_) => None,
                }
            }
        }
    }
}

/// Every string and key holding a NUL, wherever it is (free-form objects included).
fn refuse_nul(value: &Value, w: &mut Walk<'_>) {
    match value {
        Value::String(s) if s.contains('\0') => w.error("value_error", NUL_MESSAGE),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                w.loc.push(i.to_string());
                refuse_nul(v, w);
                w.loc.pop();
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                w.loc.push(k.clone());
                if k.contains('\0') {
                    w.error("value_error", NUL_MESSAGE);
                } else {
                    refuse_nul(v, w);
                }
                w.loc.pop();
            }
        }
        _ => {}
    }
}

/// Whether an error of this kind is about the body's structure (a field missing, unknown or of
/// the wrong type) rather than a rule the schema declares (a bound, a length, a format, NUL).
pub fn is_structural(kind: &str) -> bool {
    matches!(
        kind,
        "missing"
            | "extra_forbidden"
            | "int_type"
            | "int_parsing"
            | "int_range"
            | "float_type"
            | "string_type"
            | "bool_type"
            | "list_type"
            | "dict_type"
            | "none_required"
            | "enum"
    )
}

/// A declared bound: its value, error type, wording, and whether `x` keeps it.
type Bound<'a> = (
    &'a Option<utoipa::Number>,
    &'a str,
    &'a str,
    fn(f64, f64) -> bool,
);

/// Schemas nest no deeper than this (a guard against a recursive schema).
const MAX_DEPTH: usize = 32;

struct Walk<'a> {
    shape: &'a Shape,
    loc: Vec<String>,
    errors: Vec<FieldError>,
    depth: usize,
}

/// The JSON types a schema admits; `None` for any.
fn admitted(t: &SchemaType) -> Option<Vec<Type>> {
    match t {
        SchemaType::Type(t) => Some(vec![t.clone()]),
        SchemaType::Array(ts) => Some(ts.clone()),
        SchemaType::AnyValue => None,
    }
}

fn is_null_schema(s: &Schema) -> bool {
    matches!(s, Schema::Object(o) if o.schema_type == SchemaType::Type(Type::Null))
}

/// `s` as a whole number, if it is one (surrounding spaces allowed, ASCII digits only).
fn integer_string(s: &str) -> Option<i128> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn number_f64(n: &utoipa::Number) -> f64 {
    match n {
        utoipa::Number::Int(i) => *i as f64,
        utoipa::Number::UInt(u) => *u as f64,
        utoipa::Number::Float(f) => *f,
    }
}

fn type_error(t: &Type) -> (&'static str, &'static str) {
    match t {
        Type::Integer => ("int_type", "Input should be a valid integer"),
        Type::Number => ("float_type", "Input should be a valid number"),
        Type::String => ("string_type", "Input should be a valid string"),
        Type::Boolean => ("bool_type", "Input should be a valid boolean"),
        Type::Array => ("list_type", "Input should be a valid list"),
        Type::Object => ("dict_type", "Input should be a valid dictionary"),
        Type::Null => ("none_required", "Input should be None"),
    }
}

impl Walk<'_> {
    fn error(&mut self, kind: &str, msg: impl Into<String>) {
        let loc: Vec<&str> = self.loc.iter().map(String::as_str).collect();
        self.errors.push(FieldError::new(&loc, kind, msg));
    }

    fn schema(&mut self, schema: &RefOr<Schema>, value: &mut Value) {
        let shape = self.shape;
        let Some(s) = shape.resolve(schema) else {
            return;
        };
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match s {
            Schema::Object(o) => self.object_schema(o, value),
            Schema::Array(a) => self.array(a, value),
            Schema::OneOf(o) => self.any_of(&o.items, value),
            Schema::AnyOf(o) => self.any_of(&o.items, value),
            Schema::AllOf(o) => {
                for item in &o.items {
                    self.schema(item, value);
                }
            }
            _ => {}
        }
        self.depth -= 1;
    }

    /// The first alternative that fits wins (with its conversions); if none does, the
    /// problems of the first one that is not `null` are reported.
    fn any_of(&mut self, items: &[RefOr<Schema>], value: &mut Value) {
        let shape = self.shape;
        let real: Vec<&RefOr<Schema>> = items
            .iter()
            .filter(|i| !shape.resolve(i).is_some_and(is_null_schema))
            .collect();
        if value.is_null() && real.len() < items.len() {
            return;
        }
        let mut first: Option<(Value, Vec<FieldError>)> = None;
        for item in real {
            let mut trial = value.clone();
            let before = std::mem::take(&mut self.errors);
            self.schema(item, &mut trial);
            let found = std::mem::replace(&mut self.errors, before);
            if found.is_empty() {
                *value = trial;
                return;
            }
            first.get_or_insert((trial, found));
        }
        if let Some((_, found)) = first {
            self.errors.extend(found);
        }
    }

    fn array(&mut self, a: &Array, value: &mut Value) {
        let types = admitted(&a.schema_type);
        if value.is_null() && types.as_ref().is_none_or(|t| t.contains(&Type::Null)) {
            return;
        }
        let Value::Array(items) = value else {
            let (kind, msg) = type_error(&Type::Array);
            return self.error(kind, msg);
        };
        if let Some(min) = a.min_items
            && items.len() < min
        {
            self.error(
                "too_short",
                format!("List should have at least {min} items"),
            );
        }
        if let Some(max) = a.max_items
            && items.len() > max
        {
            self.error("too_long", format!("List should have at most {max} items"));
        }
        if let ArrayItems::RefOrSchema(item) = &a.items {
            for (i, v) in items.iter_mut().enumerate() {
                self.loc.push(i.to_string());
                self.schema(item, v);
                self.loc.pop();
            }
        }
    }

    fn object_schema(&mut self, o: &Object, value: &mut Value) {
        let Some(types) = admitted(&o.schema_type) else {
            return self.enumerated(o, value);
        };
        let fits = match value {
            Value::Null => types.contains(&Type::Null),
            Value::Bool(_) => types.contains(&Type::Boolean),
            Value::Number(n) => {
                types.contains(&Type::Number) || (types.contains(&Type::Integer) && n.is_i64())
            }
            Value::String(_) => types.contains(&Type::String),
            Value::Array(_) => types.contains(&Type::Array),
            Value::Object(_) => types.contains(&Type::Object),
        };
        if !fits {
            if types.contains(&Type::Integer)
                && let Value::String(s) = value
            {
                match integer_string(s) {
                    Some(n) => return self.integer(o, n, value),
                    None => {
                        return self.error(
                            "int_parsing",
                            "Input should be a valid integer, unable to parse string as an integer",
                        );
                    }
                }
            }
            let primary = types
                .iter()
                .find(|t| **t != Type::Null)
                .unwrap_or(&Type::Null);
            let (kind, msg) = type_error(primary);
            return self.error(kind, msg);
        }
        match value {
            Value::Number(n)
                if types.contains(&Type::Integer) && !types.contains(&Type::Number) =>
            {
                if let Some(i) = n.as_i64() {
                    self.integer(o, i128::from(i), value);
                }
            }
            Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    self.bounds(o, f);
                }
                self.enumerated(o, value);
            }
            Value::String(s) => {
                let n = s.chars().count();
                self.lengths(o, n);
                self.formatted(o, s);
                self.enumerated(o, value);
            }
            Value::Object(map) => self.properties(o, map),
            _ => self.enumerated(o, value),
        }
    }

    /// An integer (given, or read from a string) within its format and declared bounds.
    fn integer(&mut self, o: &Object, n: i128, value: &mut Value) {
        let (lo, hi) = match &o.format {
            Some(SchemaFormat::KnownFormat(KnownFormat::Int32)) => {
                (i128::from(i32::MIN), i128::from(i32::MAX))
            }
            _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
        };
        let Some(i) = (lo..=hi)
            .contains(&n)
            .then(|| i64::try_from(n).ok())
            .flatten()
        else {
            return self.error(
                "int_range",
                format!("Input should be a whole number from {lo} to {hi}"),
            );
        };
        *value = Value::Number(Number::from(i));
        self.bounds(o, i as f64);
        self.enumerated(o, value);
    }

    fn bounds(&mut self, o: &Object, x: f64) {
        let checks: [Bound<'_>; 4] = [
            (
                &o.minimum,
                "greater_than_equal",
                "greater than or equal to",
                |x, m| x >= m,
            ),
            (
                &o.exclusive_minimum,
                "greater_than",
                "greater than",
                |x, m| x > m,
            ),
            (
                &o.maximum,
                "less_than_equal",
                "less than or equal to",
                |x, m| x <= m,
            ),
            (&o.exclusive_maximum, "less_than", "less than", |x, m| x < m),
        ];
        for (bound, kind, words, holds) in checks {
            if let Some(b) = bound
                && !holds(x, number_f64(b))
            {
                let b = serde_json::to_string(b).unwrap_or_default();
                self.error(kind, format!("Input should be {words} {b}"));
            }
        }
    }

    fn lengths(&mut self, o: &Object, n: usize) {
        if let Some(min) = o.min_length
            && n < min
        {
            let msg = format!("String should have at least {min} characters");
            self.error("string_too_short", msg);
        }
        if let Some(max) = o.max_length
            && n > max
        {
            let msg = format!("String should have at most {max} characters");
            self.error("string_too_long", msg);
        }
    }

    /// The domain rule the field's `format` names (`super::formats`), if any.
    fn formatted(&mut self, o: &Object, s: &str) {
        let Some(rule) = o.format.as_ref().and_then(formats::rule) else {
            return;
        };
        if s.contains('\0') {
            return; // already refused
        }
        let field = self.loc.last().map_or("", String::as_str);
        if let Err(e) = rule(field, s) {
            let loc: Vec<&str> = self.loc.iter().map(String::as_str).collect();
            self.errors.push(e.at(&loc));
        }
    }

    fn enumerated(&mut self, o: &Object, value: &Value) {
        let Some(allowed) = &o.enum_values else {
            return;
        };
        if allowed.contains(value) {
            return;
        }
        let names: Vec<String> = allowed
            .iter()
            .map(|v| match v {
                Value::String(s) => format!("'{s}'"),
                other => other.to_string(),
            })
            .collect();
        let msg = match names.split_last() {
            Some((last, [])) => format!("Input should be {last}"),
            Some((last, rest)) => format!("Input should be {} or {last}", rest.join(", ")),
            None => "Input should be one of the allowed values".to_owned(),
        };
        self.error("enum", msg);
    }

    /// Missing and unknown fields, then each field against its own schema.
    fn properties(&mut self, o: &Object, map: &mut Map<String, Value>) {
        for name in &o.required {
            if !map.contains_key(name) {
                self.loc.push(name.clone());
                self.error("missing", "Field required");
                self.loc.pop();
            }
        }
        for (key, v) in map.iter_mut() {
            self.loc.push(key.clone());
            match (o.properties.get(key), o.additional_properties.as_deref()) {
                (Some(schema), _) => self.schema(schema, v),
                (None, Some(AdditionalProperties::FreeForm(false))) => {
                    self.error("extra_forbidden", "Extra inputs are not permitted");
                }
                (None, Some(AdditionalProperties::RefOr(schema))) => self.schema(schema, v),
                (None, _) => {}
            }
            self.loc.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        product_id: i64,
        #[schema(minimum = 1, maximum = 100)]
        quantity: i32,
    }

    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields, rename_all = "UPPERCASE")]
    enum Kind {
        Delivery,
        Pickup,
    }

    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        #[schema(min_length = 6)]
        email: String,
        branch_id: Option<i64>,
        kind: Kind,
        lines: Vec<Line>,
        first: Option<Line>,
        #[serde(default)]
        flag: bool,
        #[schema(value_type = Option<Object>)]
        extra: Option<Value>,
    }

    fn conform<T: ToSchema + 'static>(mut v: Value) -> (Value, Vec<(String, String)>) {
        let errors = Shape::of::<T>().conform(&mut v);
        let errors = errors
            .into_iter()
            .map(|e| (e.loc.join("."), e.kind))
            .collect();
        (v, errors)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn integer_strings_become_integers_wherever_an_integer_is_expected() {
        let body = json!({"email": "a@b.co", "branch_id": " 6 ", "kind": "PICKUP",
            "lines": [{"product_id": "189", "quantity": "2"}],
            "first": {"product_id": "-3", "quantity": 1}});
        let (v, errors) = conform::<Body>(body);
        assert_eq!(errors, vec![]);
        assert_eq!(v["branch_id"], 6);
        assert_eq!(v["lines"][0], json!({"product_id": 189, "quantity": 2}));
        assert_eq!(v["first"]["product_id"], -3);
        assert!(serde_json::from_value::<Body>(v).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let body = json!({"email": "a@b", "branch_id": "six", "kind": "BOAT",
            "lines": [{"product_id": 1.5, "quantity": 0, "colour": "red"}, {}],
            "flag": "yes", "role": "ADMIN", "first": 7});
        let (_, errors) = conform::<Body>(body);
        assert_eq!(
            errors,
            pairs(&[
                ("branch_id", "int_parsing"),
                ("email", "string_too_short"),
                ("first", "dict_type"),
                ("flag", "bool_type"),
                ("kind", "enum"),
                ("lines.0.colour", "extra_forbidden"),
                ("lines.0.product_id", "int_type"),
                ("lines.0.quantity", "greater_than_equal"),
                ("lines.1.product_id", "missing"),
                ("lines.1.quantity", "missing"),
                ("role", "extra_forbidden"),
            ])
        );
        let (_, errors) = conform::<Body>(json!({}));
        assert_eq!(
            errors,
            pairs(&[
                ("email", "missing"),
                ("kind", "missing"),
                ("lines", "missing")
            ])
        );
    }

    #[test]
    fn integers_stay_within_their_format() {
        let line = |q: Value| json!({"product_id": "99999999999999999999", "quantity": q});
        let (_, errors) = conform::<Line>(line(json!("3000000000")));
        assert_eq!(
            errors,
            pairs(&[("product_id", "int_range"), ("quantity", "int_range")])
        );
        let (_, errors) = conform::<Line>(json!({"product_id": 1, "quantity": 101}));
        assert_eq!(errors, pairs(&[("quantity", "less_than_equal")]));
        let (_, errors) = conform::<Line>(json!({"product_id": true, "quantity": "2.0"}));
        assert_eq!(
            errors,
            pairs(&[("product_id", "int_type"), ("quantity", "int_parsing")])
        );
    }

    #[test]
    fn nul_is_refused_in_every_string_and_key() {
        let body = json!({"email": "a\u{0}@b.co", "kind": "PICKUP", "lines": [],
            "extra": {"note": ["ok", "x\u{0}"], "k\u{0}": 1}});
        let (_, errors) = conform::<Body>(body);
        assert_eq!(
            errors,
            pairs(&[
                ("email", "value_error"),
                ("extra.k\u{0}", "value_error"),
                ("extra.note.1", "value_error"),
            ])
        );
    }

    #[test]
    fn null_is_a_value_only_where_the_schema_allows_it() {
        let body = json!({"email": null, "kind": "PICKUP", "lines": null,
            "branch_id": null, "first": null, "extra": null});
        let (_, errors) = conform::<Body>(body);
        assert_eq!(
            errors,
            pairs(&[("email", "string_type"), ("lines", "list_type")])
        );
    }
}
