//! The OpenAPI document lists the error statuses that whole kinds of routes share (issue 8,
//! point 16): 401 with bearer security, 400 with query parameters or a body, 404 with path
//! parameters, 413 with a body, 415 with a JSON body, 429 but on health checks, 500 and 503 but
//! on liveness; each in the error envelope, and never in place of a status a route documents
//! itself. (403 on the role-guarded routes is checked against the RBAC table in rbac.rs.)

use serde_json::Value;

fn document() -> anyhow::Result<Value> {
    Ok(serde_json::to_value(mami_api::openapi_document())?)
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

fn has_param(op: &Value, kind: &str) -> bool {
    op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == kind))
}

fn statuses(op: &Value) -> Vec<String> {
    op["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schema reference of a response, following one `#/components/responses/…` reference.
fn error_schema(doc: &Value, response: &Value) -> Option<String> {
    let response = match response["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/responses/")?;
            &doc["components"]["responses"][name]
        }
        None => response,
    };
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn each_kind_of_route_documents_its_generic_statuses() -> anyhow::Result<()> {
    let doc = document()?;
    let ops = operations(&doc);
    assert!(ops.len() > 80, "the document lists every route");
    let mut missing = Vec::new();
    for (method, path, op) in &ops {
        let bearer = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let body = op.get("requestBody").is_some();
        let json = op["requestBody"]["content"]
            .get("application/json")
            .is_some();
        let health = path.starts_with("/api/v1/health");
        let liveness = path == "/api/v1/health";
        let expected = [
            ("400", has_param(op, "query") || body),
            ("401", bearer),
            ("404", has_param(op, "path")),
            ("413", body),
            ("415", json),
            ("429", !health),
            ("500", !liveness),
            ("503", !liveness),
        ];
        let have = statuses(op);
        for (status, applies) in expected {
            if applies && !have.iter().any(|s| s == status) {
                missing.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented statuses: {missing:#?}");
    Ok(())
}

#[test]
fn every_bearer_route_documents_401_and_public_ones_do_not() -> anyhow::Result<()> {
    let doc = document()?;
    for (method, path, op) in operations(&doc) {
        let bearer = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            statuses(&op).iter().any(|s| s == "401"),
            bearer,
            "{method} {path}"
        );
    }
    Ok(())
}

#[test]
fn every_error_status_is_in_the_envelope() -> anyhow::Result<()> {
    let doc = document()?;
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    error_schema(&doc, response).as_deref(),
                    Some("#/components/schemas/ErrorEnvelope"),
                    "{method} {path} {status}: {response}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn a_route_keeps_the_statuses_it_documents_itself() -> anyhow::Result<()> {
    let doc = document()?;
    let slot = &doc["paths"]["/api/v1/admin/delivery-slots/{id}"]["patch"]["responses"];
    assert!(
        slot["409"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("DUPLICATE_SLOT")),
        "slot update: 409 DUPLICATE_SLOT: {slot}"
    );
    let upload = &doc["paths"]["/api/v1/admin/inventory/bulk"]["post"]["responses"];
    for (status, code) in [("400", "NO_FILE"), ("413", "2 MiB")] {
        assert!(
            upload[status]["description"]
                .as_str()
                .is_some_and(|d| d.contains(code)),
            "inventory upload keeps its own {status}: {upload}"
        );
    }
    assert!(
        upload.get("415").is_none(),
        "a multipart route is not refused as non-JSON"
    );
    Ok(())
}
