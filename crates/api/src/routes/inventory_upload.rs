//! `POST /admin/inventory/bulk` (MANAGER, ADMIN): the inventory CSV upload. This module reads
//! the multipart form and decodes the CSV into rows of text; `mami_domain::stock_upload` decides
//! what they mean and applies each good row like a single inventory change.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, post, web};
use futures_util::StreamExt as _;
use mami_domain::stock_upload::{
    Columns, MAX_FILE_BYTES, MAX_ROWS, RawRow, RowOutcome, UploadError, UploadReport,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::http::ApiError;
use crate::http::envelope::{Envelope, respond};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(upload_inventory);
}

/// The largest form field other than `file` that is read (and ignored).
const MAX_OTHER_FIELD_BYTES: usize = 64 * 1024;

/// The form: one field, `file`.
#[derive(Debug, ToSchema)]
pub struct InventoryUploadForm {
    /// UTF-8 CSV (a byte-order mark is allowed), at most 2 MiB and 10000 data rows. The first
    /// row is the header: `product_id` and `branch_id` (required), `available_quantity` and
    /// `reserved_quantity` (optional columns, 0 when absent); names in any case and order,
    /// other columns ignored.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowErrorDto {
    /// 1 = the first row after the header.
    pub row_number: usize,
    /// The row's cells by header name.
    #[schema(value_type = Object)]
    pub row: Map<String, Value>,
    pub error: String,
}

/// What became of one row: `status` `success` with `product_id`, `branch_id` (strings, as in
/// the reference) and `action` (`created`/`updated`), or `error` with `error` and `row`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowResultDto {
    pub row_number: usize,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub row: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryUploadDto {
    /// Data rows in the file.
    pub total: usize,
    pub success: usize,
    pub errors: usize,
    pub error_details: Vec<RowErrorDto>,
    pub results: Vec<RowResultDto>,
}

fn row_result(r: RowOutcome) -> (RowResultDto, Option<RowErrorDto>) {
    match r.result {
        Ok((row, done)) => {
            let ok = RowResultDto {
                row_number: r.row_number,
                status: "success",
                product_id: Some(row.product_id.to_string()),
                branch_id: Some(row.branch_id.to_string()),
                action: Some(done.as_str()),
                error: None,
                row: None,
            };
            (ok, None)
        }
        Err(error) => {
            let failed = RowResultDto {
                row_number: r.row_number,
                status: "error",
                product_id: None,
                branch_id: None,
                action: None,
                error: Some(error.clone()),
                row: Some(r.cells.clone()),
            };
            let detail = RowErrorDto {
                row_number: r.row_number,
                row: r.cells,
                error,
            };
            (failed, Some(detail))
        }
    }
}

impl From<UploadReport> for InventoryUploadDto {
    fn from(report: UploadReport) -> Self {
        let (total, success, errors) = (report.rows.len(), report.succeeded(), report.failed());
        let (results, details): (Vec<_>, Vec<_>) = report.rows.into_iter().map(row_result).unzip();
        Self {
            total,
            success,
            errors,
            error_details: details.into_iter().flatten().collect(),
            results,
        }
    }
}

/// A multipart failure: a request that is not a multipart form carries no file.
fn unreadable(e: actix_multipart::MultipartError) -> UploadError {
    use actix_multipart::MultipartError as M;
    match e {
        M::ContentTypeMissing
        | M::ContentTypeParse
        | M::ContentTypeIncompatible
        | M::BoundaryMissing => UploadError::NoFile,
        other => UploadError::Malformed(other.to_string()),
    }
}

/// The bytes of the form's `file` field (other fields are read, bounded, and ignored).
async fn file_of(mut form: Multipart) -> Result<Vec<u8>, UploadError> {
    while let Some(field) = form.next().await {
        let mut field = field.map_err(unreadable)?;
        let is_file = field.name() == Some("file");
        let limit = if is_file {
            MAX_FILE_BYTES
        } else {
            MAX_OTHER_FIELD_BYTES
        };
        let bytes = field
            .bytes(limit)
            .await
            .map_err(|_| UploadError::TooLarge)?
            .map_err(unreadable)?;
        if is_file {
            return Ok(bytes.to_vec());
        }
    }
    Err(UploadError::NoFile)
}

/// A record's cells as text.
fn text(record: &csv::ByteRecord) -> Result<Vec<String>, String> {
    record
        .iter()
        .map(|cell| {
            std::str::from_utf8(cell)
                .map(str::to_owned)
                .map_err(|_| "The row is not valid UTF-8".to_owned())
        })
        .collect()
}

/// Decodes the CSV: its header's columns and its data rows (blank lines skipped), each row as
/// text or why it cannot be read.
fn decode(file: &[u8]) -> Result<(Columns, Vec<RawRow>), UploadError> {
    // Spreadsheet programs start UTF-8 exports with a byte-order mark.
    let file = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => Err("The file is empty: the first row must be a header".to_owned()),
        Some(Err(e)) => Err(format!("The header row cannot be read: {e}")),
        Some(Ok(record)) => text(&record),
    }
    .map_err(UploadError::BadHeader)?;
    let columns = Columns::parse(&header)?;
    let mut rows = Vec::new();
    for record in records {
        if rows.len() == MAX_ROWS {
            return Err(UploadError::TooManyRows);
        }
        let row = record
            .map_err(|e| format!("The row cannot be read as CSV: {e}"))
            .and_then(|r| text(&r));
        rows.push(row);
    }
    Ok((columns, rows))
}

/// Sets the stock of many (product, branch) rows from a CSV file: 202 with a report per row.
/// Each good row is applied and audited as a single change (`inventory/UPDATE` of an existing
/// row, `inventory/CREATE` of a new one), in its own transaction; a bad row (unreadable, a bad
/// number, an unknown product or branch) is reported and skipped.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])),
    request_body(content = InventoryUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, body = inline(Data<InventoryUploadDto>)),
        (status = 400, body = ErrorEnvelope,
            description = "NO_FILE (no `file` field), INVALID_CSV (no usable header, \
                too many rows), BAD_REQUEST (unreadable form)"),
        (status = 403, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope, description = "HTTP_413: the file is over 2 MiB")))]
#[post("/inventory/bulk")]
pub async fn upload_inventory(
    state: web::Data<AppState>,
    auth: Authenticated,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let file = file_of(form).await?;
    let (columns, rows) = decode(&file)?;
    let report = state
        .stock_upload
        .upload(&columns, rows, &auth.context())
        .await?;
    Ok(respond(
        actix_web::http::StatusCode::ACCEPTED,
        &Envelope {
            data: InventoryUploadDto::from(report),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_decoded_into_a_header_and_rows() {
        let file = b"\xEF\xBB\xBFproduct_id,branch_id\r\n1,2\r\n\r\n\"3\",4\n5,\xFF\n";
        let (columns, rows) = decode(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 3, "blank lines are skipped");
        assert_eq!(
            rows[1]
                .clone()
                .map(|r| columns.row(&r).map(|r| r.product_id)),
            Ok(Ok(3))
        );
        assert_eq!(rows[2], Err("The row is not valid UTF-8".into()));
        assert!(matches!(decode(b""), Err(UploadError::BadHeader(_))));
        assert!(matches!(
            decode(b"sku,qty\n1,2\n"),
            Err(UploadError::BadHeader(_))
        ));
        let many = format!("product_id,branch_id\n{}", "1,1\n".repeat(MAX_ROWS + 1));
        assert_eq!(
            decode(many.as_bytes()).err(),
            Some(UploadError::TooManyRows)
        );
    }
}
