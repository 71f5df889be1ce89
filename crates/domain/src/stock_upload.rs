//! The inventory upload (`POST /admin/inventory/bulk`, a CSV file): its columns, the rule for
//! each row, the report, and the use case. The edge decodes the file into a header and rows of
//! text; this module decides what they mean, and [`StockUploadService::upload`] applies each
//! good row like a single inventory change, each in its own transaction.
//!
//! Columns (as in the reference): `product_id` and `branch_id` (required), `available_quantity`
//! and `reserved_quantity` (optional columns: 0 when the column is absent). Header names are
//! matched without regard to case or surrounding spaces; other columns are ignored.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tracing::instrument;

use crate::DomainError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::inventory::{InventoryChange, InventoryItem, NewInventory, StockChange, parse_quantity};

/// The most data rows one upload may hold (each is its own short transaction).
pub const MAX_ROWS: usize = 10_000;
/// The largest file accepted (about 100,000 short rows; the row limit comes first).
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;

/// Why an upload is refused as a whole (a bad row is only reported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// No `file` field in a multipart form (or no multipart form at all).
    #[error("Please attach a CSV file before uploading inventory.")]
    NoFile,
    /// The multipart body cannot be read.
    #[error("The upload is not a readable multipart form: {0}")]
    Malformed(String),
    /// Over [`MAX_FILE_BYTES`].
    #[error("The file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// Over [`MAX_ROWS`] data rows.
    #[error("The file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
    /// No usable header row.
    #[error("{0}")]
    BadHeader(String),
}

const PRODUCT: &str = "product_id";
const BRANCH: &str = "branch_id";
const AVAILABLE: &str = "available_quantity";
const RESERVED: &str = "reserved_quantity";

/// Where each known column is in the file's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The header's names, as written (they name the cells of a row in the report).
    names: Vec<String>,
    product: usize,
    branch: usize,
    available: Option<usize>,
    reserved: Option<usize>,
}

/// One row's values, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockRow {
    pub product_id: i64,
    pub branch_id: i64,
    pub available: i32,
    pub reserved: i32,
}

/// What a good row did to the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

impl Upserted {
    pub fn as_str(self) -> &'static str {
        match self {
            Upserted::Created => "created",
            Upserted::Updated => "updated",
        }
    }
}

/// One data row of the file: its number (1 = the first row after the header), its cells by
/// header name, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOutcome {
    pub row_number: usize,
    pub cells: Map<String, Value>,
    pub result: Result<(StockRow, Upserted), String>,
}

/// What an upload did, row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadReport {
    pub rows: Vec<RowOutcome>,
}

impl UploadReport {
    pub fn succeeded(&self) -> usize {
        self.rows.iter().filter(|r| r.result.is_ok()).count()
    }

    pub fn failed(&self) -> usize {
        self.rows.len() - self.succeeded()
    }
}

/// A row of the file: its cells as text, or why they could not be read (not UTF-8…).
pub type RawRow = Result<Vec<String>, String>;

fn find(names: &[String], wanted: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n.trim().eq_ignore_ascii_case(wanted))
}

impl Columns {
    /// Reads the header row. Errors: a required column is missing, or a known column is named
    /// twice.
    pub fn parse(header: &[String]) -> Result<Self, UploadError> {
        for known in [PRODUCT, BRANCH, AVAILABLE, RESERVED] {
            let named = header
                .iter()
                .filter(|n| n.trim().eq_ignore_ascii_case(known))
                .count();
            if named > 1 {
                let problem = format!("The header row names {known} more than once");
                return Err(UploadError::BadHeader(problem));
            }
        }
        let required = |name| {
            find(header, name).ok_or_else(|| {
                UploadError::BadHeader(format!(
                    "The first row must be a header naming the columns {PRODUCT} and {BRANCH}"
                ))
            })
        };
        Ok(Self {
            product: required(PRODUCT)?,
            branch: required(BRANCH)?,
            available: find(header, AVAILABLE),
            reserved: find(header, RESERVED),
            names: header.iter().map(|n| n.trim().to_owned()).collect(),
        })
    }

    /// The row's cells by header name (cells beyond the header are left out).
    pub fn cells(&self, fields: &[String]) -> Map<String, Value> {
        self.names
            .iter()
            .zip(fields)
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect()
    }

    /// Checks one data row. Errors name the column and the problem.
    pub fn row(&self, fields: &[String]) -> Result<StockRow, String> {
        let cell = |i: usize, name: &str| {
            fields
                .get(i)
                .map(|c| c.trim())
                .ok_or_else(|| format!("{name}: missing"))
        };
        let id = |i, name| {
            cell(i, name)?
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{name}: not a whole number ≥ 1"))
        };
        let quantity = |column: Option<usize>, name: &str| match column {
            None => Ok(0),
            Some(i) => {
                let raw = cell(i, name)?;
                let n = raw
                    .parse::<i64>()
                    .map_err(|_| format!("{name}: not a whole number"))?;
                parse_quantity(name, n).map_err(|e| format!("{name}: {}", e.msg))
            }
        };
        let product_id = id(self.product, PRODUCT);
        let branch_id = id(self.branch, BRANCH);
        let available = quantity(self.available, AVAILABLE);
        let reserved = quantity(self.reserved, RESERVED);
        let problems: Vec<String> = [
            product_id.as_ref().err(),
            branch_id.as_ref().err(),
            available.as_ref().err(),
            reserved.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        match (product_id, branch_id, available, reserved) {
            (Ok(product_id), Ok(branch_id), Ok(available), Ok(reserved)) => Ok(StockRow {
                product_id,
                branch_id,
                available,
                reserved,
            }),
            _ => Err(problems.join("; ")),
        }
    }
}

impl StockRow {
    /// The change an existing row gets: both quantities set, the reorder point kept.
    pub fn change(&self) -> InventoryChange {
        InventoryChange {
            available: Some(StockChange::Set(self.available)),
            reserved: Some(self.reserved),
            reorder_point: None,
        }
    }

    /// The row created when the branch has none for the product.
    pub fn new_inventory(&self) -> NewInventory {
        NewInventory {
            product_id: self.product_id,
            branch_id: self.branch_id,
            available_quantity: self.available,
            reserved_quantity: self.reserved,
            reorder_point: 0,
        }
    }

    /// The audit entry of the row, as a single change writes it: `inventory/UPDATE` of the
    /// existing row `existing`, else `inventory/CREATE`.
    pub fn audit(ctx: &RequestContext, existing: Option<i64>) -> AuditEntry {
        match existing {
            Some(id) => AuditEntry::new(ctx, "inventory", AuditTarget::Id(id), "UPDATE"),
            None => AuditEntry::new(ctx, "inventory", AuditTarget::Created, "CREATE"),
        }
    }
}

/// Applying one row.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StockUploadStore: Send + Sync {
    /// One transaction: locks the branch's row of the product (`SELECT … FOR UPDATE`) and
    /// applies [`StockRow::change`] to it as a single inventory change does, or creates the row
    /// from [`StockRow::new_inventory`]; audited with [`StockRow::audit`].
    /// Errors: `NotFound` (product or branch), `Conflict(DUPLICATE_INVENTORY)` when the row was
    /// created concurrently.
    async fn upsert(
        &self,
        row: StockRow,
        ctx: RequestContext,
    ) -> Result<(InventoryItem, Upserted), DomainError>;
}

/// The upload use case.
pub struct StockUploadService {
    store: Arc<dyn StockUploadStore>,
}

impl StockUploadService {
    pub fn new(store: Arc<dyn StockUploadStore>) -> Self {
        Self { store }
    }

    /// Applies every good row, in the file's order, each in its own transaction: a bad row
    /// (unreadable, a bad number, an unknown product or branch) is reported and the others
    /// are applied. An infrastructure failure stops the upload: the rows before it stay
    /// applied, and uploading the file again converges, as every row sets absolute figures.
    #[instrument(skip_all, fields(rows = rows.len()))]
    pub async fn upload(
        &self,
        columns: &Columns,
        rows: Vec<RawRow>,
        ctx: &RequestContext,
    ) -> Result<UploadReport, DomainError> {
        let mut report = UploadReport::default();
        for (i, raw) in rows.into_iter().enumerate() {
            let cells = raw.as_ref().map(|f| columns.cells(f)).unwrap_or_default();
            let result = match raw.and_then(|f| columns.row(&f)) {
                Err(problem) => Err(problem),
                Ok(row) => match self.store.upsert(row, ctx.clone()).await {
                    Ok((_, done)) => Ok((row, done)),
                    Err(DomainError::Internal(e)) => return Err(e.into()),
                    Err(refused) => Err(refused.to_string()),
                },
            };
            report.rows.push(RowOutcome {
                row_number: i + 1,
                cells,
                result,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_header_names_the_columns_in_any_order_and_case() {
        let c = Columns::parse(&strings(&[" Branch_ID", "note", "PRODUCT_ID "]));
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.row(&strings(&["2", "whatever", " 7 "])),
            Ok(StockRow {
                product_id: 7,
                branch_id: 2,
                available: 0,
                reserved: 0
            }),
            "absent quantity columns are 0, as in the reference"
        );
        assert!(Columns::parse(&strings(&["product_id", "available_quantity"])).is_err());
        assert!(Columns::parse(&strings(&["product_id", "branch_id", "Branch_Id"])).is_err());
    }

    #[test]
    fn every_bad_cell_of_a_row_is_named() {
        let header = strings(&[
            "product_id",
            "branch_id",
            "available_quantity",
            "reserved_quantity",
        ]);
        let c = Columns::parse(&header).unwrap_or_else(|e| panic!("{e}"));
        let error = c.row(&strings(&["abc", "0", "-1", ""])).err();
        let error = error.unwrap_or_default();
        for part in [
            "product_id: not a whole number ≥ 1",
            "branch_id: not a whole number ≥ 1",
            "available_quantity: Input should be greater than or equal to 0",
            "reserved_quantity: not a whole number",
        ] {
            assert!(error.contains(part), "{error}");
        }
        assert_eq!(
            c.row(&strings(&["1", "1", "5000000", "0"])).err(),
            Some("available_quantity: Input should be less than or equal to 1000000".into())
        );
        assert_eq!(
            c.row(&strings(&["1", "1"])).err(),
            Some("available_quantity: missing; reserved_quantity: missing".into())
        );
        assert_eq!(
            c.row(&strings(&["1", "2", "30", "4"])).map(|r| r.change()),
            Ok(InventoryChange {
                available: Some(StockChange::Set(30)),
                reserved: Some(4),
                reorder_point: None
            })
        );
        let cells = c.cells(&strings(&["1", "2", "30", "4", "extra"]));
        assert_eq!(cells.len(), 4);
        assert_eq!(cells["available_quantity"], "30");
    }

    #[tokio::test]
    async fn bad_rows_are_reported_and_the_others_applied() {
        let mut store = MockStockUploadStore::new();
        store.expect_upsert().times(2).returning(|row, _| {
            if row.product_id == 999 {
                return Err(DomainError::not_found("NOT_FOUND", "Product not found"));
            }
            let item = InventoryItem {
                id: 1,
                branch_id: row.branch_id,
                branch_name: "B".into(),
                product_id: row.product_id,
                product_name: "P".into(),
                product_sku: "S".into(),
                available_quantity: row.available,
                reserved_quantity: row.reserved,
                reorder_point: 0,
            };
            Ok((item, Upserted::Updated))
        });
        let svc = StockUploadService::new(Arc::new(store));
        let columns = Columns::parse(&strings(&["product_id", "branch_id"]));
        let columns = columns.unwrap_or_else(|e| panic!("{e}"));
        let rows = vec![
            Ok(strings(&["1", "1"])),
            Err("not valid UTF-8".to_owned()),
            Ok(strings(&["x", "1"])),
            Ok(strings(&["999", "1"])),
        ];
        let report = svc.upload(&columns, rows, &RequestContext::default()).await;
        let report = report.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((report.succeeded(), report.failed()), (1, 3));
        let numbers: Vec<_> = report.rows.iter().map(|r| r.row_number).collect();
        assert_eq!(numbers, vec![1, 2, 3, 4]);
        assert_eq!(report.rows[1].result, Err("not valid UTF-8".into()));
        assert_eq!(report.rows[3].result, Err("Product not found".into()));
        assert_eq!(report.rows[3].cells["product_id"], "999");
    }

    #[tokio::test]
    async fn an_infrastructure_failure_stops_the_upload() {
        let mut store = MockStockUploadStore::new();
        store
            .expect_upsert()
            .times(1)
            .returning(|_, _| Err(DomainError::Internal(crate::InfraError::unavailable("db"))));
        let svc = StockUploadService::new(Arc::new(store));
        let columns = Columns::parse(&strings(&["product_id", "branch_id"]));
        let columns = columns.unwrap_or_else(|e| panic!("{e}"));
        let rows = vec![Ok(strings(&["1", "1"])), Ok(strings(&["2", "1"]))];
        let r = svc.upload(&columns, rows, &RequestContext::default()).await;
        assert!(matches!(r, Err(DomainError::Internal(_))));
    }

    #[test]
    fn rows_are_audited_like_single_changes() {
        let ctx = RequestContext::default();
        let update = StockRow::audit(&ctx, Some(9));
        assert_eq!(
            (update.action, update.target),
            ("UPDATE", AuditTarget::Id(9))
        );
        let create = StockRow::audit(&ctx, None);
        assert_eq!(
            (create.action, create.target),
            ("CREATE", AuditTarget::Created)
        );
    }
}
