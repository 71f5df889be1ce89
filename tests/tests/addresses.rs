//! The address book (`/me/addresses`): the reference's shapes, order and codes; another
//! customer's address is 404; every change is audited; at most one default, even when
//! customers change it concurrently on several API instances.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_postgres::schema::addresses;
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Session, TestApp, each};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn call(s: &Session, method: Method, path: &str, body: Value) -> anyhow::Result<Reply> {
    Reply::of(s.request(method, path).json(&body)).await
}

fn address(line: &str, city: &str, is_default: bool) -> Value {
    json!({"address_line": line, "city": city, "postal_code": "6100001", "country": "Israel",
        "is_default": is_default})
}

async fn add(s: &Session, line: &str, is_default: bool) -> anyhow::Result<i64> {
    let r = call(
        s,
        Method::POST,
        "/api/v1/me/addresses",
        address(line, "Tel Aviv", is_default),
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    Ok(r.body["data"]["id"].as_i64().unwrap_or_default())
}

/// The ids of the caller's list, in order, and which is the default.
async fn listed(s: &Session) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
    let r = s.get("/api/v1/me/addresses").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = each(&r.body["data"])
        .filter_map(|a| a["id"].as_i64())
        .collect();
    let defaults = each(&r.body["data"])
        .filter(|a| a["is_default"] == true)
        .filter_map(|a| a["id"].as_i64())
        .collect();
    Ok((ids, defaults))
}

/// How many default addresses `user` has in the database.
async fn defaults_in_db(app: &TestApp, user: i64) -> anyhow::Result<i64> {
    let mut c = app.conn().await?;
    Ok(addresses::table
        .filter(addresses::user_id.eq(user))
        .filter(addresses::is_default.eq(true))
        .count()
        .get_result(&mut c)
        .await?)
}

#[tokio::test]
async fn an_address_book_lists_creates_updates_defaults_and_deletes() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    assert_eq!(listed(&dana).await?, (vec![], vec![]));

    let r = call(
        &dana,
        Method::POST,
        "/api/v1/me/addresses",
        address("12 Herzl St", "Haifa", false),
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.body["data"]["id"].as_i64().unwrap_or_default();
    assert_eq!(
        r.body["data"],
        json!({"id": a, "user_id": dana.user_id, "address_line": "12 Herzl St", "city": "Haifa",
            "postal_code": "6100001", "country": "Israel", "is_default": false,
            "lat": null, "lng": null})
    );
    let b = add(&dana, "1 Dizengoff St", true).await?;
    let c = add(&dana, "7 Allenby St", false).await?;
    // The first address is not made the default; the list: default, then newest first.
    assert_eq!(listed(&dana).await?, (vec![b, c, a], vec![b]));

    let r = call(
        &dana,
        Method::PUT,
        &format!("/api/v1/me/addresses/{a}"),
        json!({"city": "Tel Aviv", "postal_code": "00000"}),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.body["data"]["city"], &r.body["data"]["address_line"]),
        (&json!("Tel Aviv"), &json!("12 Herzl St"))
    );
    let r = call(
        &dana,
        Method::PUT,
        &format!("/api/v1/me/addresses/{a}"),
        json!({}),
    )
    .await?;
    assert_eq!(
        (r.status, &r.body["data"]["city"]),
        (200, &json!("Tel Aviv"))
    );
    let r = call(
        &dana,
        Method::PUT,
        &format!("/api/v1/me/addresses/{a}"),
        json!({"is_default": true}),
    )
    .await?;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));

    // The client sends `{}` with set-default; it may also send nothing.
    let r = call(
        &dana,
        Method::PATCH,
        &format!("/api/v1/me/addresses/{a}/default"),
        json!({}),
    )
    .await?;
    assert_eq!(
        (r.status, &r.body["data"]["is_default"]),
        (200, &json!(true))
    );
    let r = dana
        .call(Method::PATCH, &format!("/api/v1/me/addresses/{a}/default"))
        .await?;
    assert_eq!(r.status, 200, "idempotent: {}", r.body);
    assert_eq!(listed(&dana).await?, (vec![a, c, b], vec![a]));

    let r = dana
        .call(Method::DELETE, &format!("/api/v1/me/addresses/{a}"))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!({"message": "Address deleted successfully"})
    );
    // Deleting the default leaves none (as the reference).
    assert_eq!(listed(&dana).await?, (vec![c, b], vec![]));

    for (action, n) in [
        ("CREATE", 3),
        ("UPDATE", 1),
        ("SET_DEFAULT", 1),
        ("DELETE", 1),
    ] {
        assert_eq!(app.audit_count("address", action).await?, n, "{action}");
    }
    Ok(())
}

#[tokio::test]
async fn another_customers_address_is_not_found() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    let eli = app.shopper(&[]).create().await?;
    let hers = add(&dana, "12 Herzl St", true).await?;
    let path = format!("/api/v1/me/addresses/{hers}");
    for (method, path, body) in [
        (Method::PUT, path.clone(), json!({"city": "Eilat"})),
        (Method::DELETE, path.clone(), json!({})),
        (Method::PATCH, format!("{path}/default"), json!({})),
        (
            Method::PUT,
            "/api/v1/me/addresses/999999".to_owned(),
            json!({"city": "Eilat"}),
        ),
    ] {
        let r = call(&eli, method.clone(), &path, body).await?;
        assert_eq!(
            (r.status, r.code()),
            (404, "ADDRESS_NOT_FOUND".into()),
            "{method} {path}"
        );
    }
    assert_eq!(listed(&eli).await?, (vec![], vec![]));
    assert_eq!(listed(&dana).await?, (vec![hers], vec![hers]));
    assert_eq!(app.audit_count("address", "UPDATE").await?, 0);
    Ok(())
}

#[tokio::test]
async fn every_broken_field_is_reported() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    let r = call(
        &dana,
        Method::POST,
        "/api/v1/me/addresses",
        json!({"is_default": true}),
    )
    .await?;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));
    let locs = |r: &Reply| -> Vec<Value> {
        each(&r.body["error"]["details"]["errors"])
            .map(|e| e["loc"].clone())
            .collect()
    };
    assert_eq!(
        locs(&r),
        [
            json!(["address_line"]),
            json!(["city"]),
            json!(["postal_code"]),
            json!(["country"])
        ]
    );
    let r = call(
        &dana,
        Method::POST,
        "/api/v1/me/addresses",
        json!({"address_line": "1 A", "city": "T", "postal_code": "12a45", "country": "I"}),
    )
    .await?;
    assert_eq!(locs(&r).len(), 4, "{}", r.body);
    let r = call(
        &dana,
        Method::POST,
        "/api/v1/me/addresses",
        json!({"address_line": "12 Herzl St", "city": "Haifa", "postal_code": "123",
            "country": "Israel"}),
    )
    .await?;
    assert_eq!(locs(&r), [json!(["postal_code"])]);
    let r = call(
        &dana,
        Method::POST,
        "/api/v1/me/addresses",
        json!({"address_line": "12 Herzl St", "city": "Haifa", "postal_code": "1234",
            "country": "Israel", "label": "home"}),
    )
    .await?;
    assert_eq!(locs(&r), [json!(["label"])]);
    assert_eq!(listed(&dana).await?.0.len(), 0);
    Ok(())
}

#[tokio::test]
async fn concurrent_default_changes_leave_exactly_one_default() -> R {
    let app = TestApp::spawn().await?;
    let second = app.another_instance().await?;
    let dana = app.shopper(&[]).create().await?;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(add(&dana, &format!("{i} Herzl Street"), false).await?);
    }
    // Every address made the default twice, all at once, over two API instances.
    let calls = ids.iter().chain(ids.iter()).enumerate().map(|(i, id)| {
        let s = if i % 2 == 0 {
            dana.session.clone()
        } else {
            dana.at(&second).session
        };
        let path = format!("/api/v1/me/addresses/{id}/default");
        async move { s.call(Method::PATCH, &path).await }
    });
    for r in futures_util::future::join_all(calls).await {
        let r = r?;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(defaults_in_db(&app, dana.user_id).await?, 1);

    // New addresses created as the default, all at once.
    let calls = (0..6).map(|i| {
        let s = if i % 2 == 0 {
            dana.session.clone()
        } else {
            dana.at(&second).session
        };
        async move {
            call(
                &s,
                Method::POST,
                "/api/v1/me/addresses",
                address("9 Bialik St", "Haifa", true),
            )
            .await
        }
    });
    for r in futures_util::future::join_all(calls).await {
        let r = r?;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(defaults_in_db(&app, dana.user_id).await?, 1);
    let (all, defaults) = listed(&dana).await?;
    assert_eq!((all.len(), defaults.len()), (12, 1));
    assert_eq!(all[0], defaults[0], "the default is listed first");
    Ok(())
}
