//! Issue 8, point 5: the admin slot list shows active slots unless asked for the others, and a
//! duplicate is a second ACTIVE slot of a branch with the same day and start.

use mami_domain::identity::Role;
use mami_tests::demo::TEL_AVIV;
use mami_tests::{Session, TestApp, each};
use reqwest::Method;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// The ids a slot list answered.
fn ids(list: &Value) -> Vec<i64> {
    each(&list["data"])
        .filter_map(|s| s["id"].as_i64())
        .collect()
}

async fn listed(m: &Session, query: &str) -> anyhow::Result<Vec<i64>> {
    let r = m
        .get(&format!("/api/v1/admin/delivery-slots{query}"))
        .await?;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    Ok(ids(&r.body))
}

async fn toggle(m: &Session, slot: i64, active: bool) -> anyhow::Result<(u16, String)> {
    let path = format!("/api/v1/admin/delivery-slots/{slot}/toggle?active={active}");
    let r = m.call(Method::PATCH, &path).await?;
    let code = if r.status == 200 {
        String::new()
    } else {
        r.code()
    };
    Ok((r.status, code))
}

#[tokio::test]
async fn the_admin_list_shows_active_slots_unless_asked_for_the_others() -> R {
    let app = TestApp::spawn().await?;
    let m = app.session(Role::Manager).await?;
    let live = app.slot().at(TEL_AVIV).create().await?;
    let off = app.slot().at(TEL_AVIV).on(1).create().await?;
    assert_eq!(toggle(&m, off, false).await?, (200, String::new()));

    let default = listed(&m, "?branchId=2").await?;
    assert!(default.contains(&live), "{default:?}");
    assert!(
        !default.contains(&off),
        "an inactive slot looks live in the React slot editor, which does not read is_active"
    );
    let r = m.get("/api/v1/admin/delivery-slots").await?;
    assert!(
        each(&r.body["data"]).all(|s| s["is_active"] == true),
        "no branch filter: still active only"
    );

    let all = listed(&m, "?branchId=2&include_inactive=true").await?;
    assert!(all.contains(&live) && all.contains(&off), "{all:?}");
    assert_eq!(
        listed(&m, "?branchId=2&include_inactive=false").await?,
        default
    );
    let inactive = listed(&m, "?branchId=2&active=false").await?;
    assert_eq!(inactive, vec![off], "active=false: only the inactive ones");

    let r = m
        .get("/api/v1/admin/delivery-slots?include_inactive=maybe")
        .await?;
    assert_eq!((r.status, r.code().as_str()), (400, "VALIDATION_ERROR"));
    Ok(())
}

#[tokio::test]
async fn only_active_slots_can_collide() -> R {
    let app = TestApp::spawn().await?;
    let m = app.session(Role::Manager).await?;
    let body =
        json!({"branch_id": 2, "day_of_week": 6, "start_time": "20:00", "end_time": "22:00"});
    let first = m.post("/api/v1/admin/delivery-slots", &body).await?;
    assert_eq!(first.status, 201, "{}", first.body);
    let first = first.body["data"]["id"].as_i64().unwrap_or_default();

    let again = m.post("/api/v1/admin/delivery-slots", &body).await?;
    assert_eq!(
        (again.status, again.code().as_str()),
        (409, "DUPLICATE_SLOT"),
        "a second active slot"
    );

    assert_eq!(toggle(&m, first, false).await?, (200, String::new()));
    let second = m.post("/api/v1/admin/delivery-slots", &body).await?;
    assert_eq!(
        second.status, 201,
        "an inactive slot does not block a new one: {}",
        second.body
    );
    let second = second.body["data"]["id"].as_i64().unwrap_or_default();

    assert_eq!(
        toggle(&m, first, true).await?,
        (409, "DUPLICATE_SLOT".to_owned()),
        "reactivating the old slot would make two active slots start together"
    );
    let r = m.get("/api/v1/admin/delivery-slots?branchId=2").await?;
    let active = ids(&r.body);
    assert!(active.contains(&second) && !active.contains(&first));
    assert_eq!(
        app.audit_count("delivery_slot", "ACTIVATE").await?,
        0,
        "the refused reactivation left no audit row"
    );

    // Moving an active slot onto another active one's time is refused too.
    let other =
        json!({"branch_id": 2, "day_of_week": 6, "start_time": "06:00", "end_time": "08:00"});
    let other = m.post("/api/v1/admin/delivery-slots", &other).await?;
    assert_eq!(other.status, 201, "{}", other.body);
    let other = other.body["data"]["id"].as_i64().unwrap_or_default();
    let moved = m
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/delivery-slots/{other}"),
        )
        .json(&body)
        .send()
        .await?;
    assert_eq!(moved.status().as_u16(), 409);

    // Once the new one is off, the old one comes back.
    assert_eq!(toggle(&m, second, false).await?, (200, String::new()));
    assert_eq!(toggle(&m, first, true).await?, (200, String::new()));
    Ok(())
}
