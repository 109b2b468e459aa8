//! Deterministic seeded data: the same seed and counts give the same records.
//! The data has what real tenants send: undocumented and nested extra fields,
//! `ExpirationType` 0 and null, nulls where the docs show null, non-ASCII
//! text, quotes and newlines.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::catalog::{BUSINESSES, CURRENCIES, PRODUCTS};
use super::row::{layout, Cell, Fields, Row};
use super::store::RowRef;
use super::store::{Db, Table};
use super::write;
use crate::spec::Resource;

/// How many records of each resource to seed; a resource left out gets none.
pub(crate) type Counts = BTreeMap<Resource, usize>;

const PASS_NAMES: &[&str] = &[
    "Day Pass",
    "10-hour pass",
    "Café «Día» pass",
    "Weekend \"Flex\" pass",
    "Nachtpass für Übernachtung",
    "会議室 pass",
    "Half day\nmorning",
    "Evening pass 🌙",
];

const NOTES: &[&str] = &[
    "Paid at the desk",
    "Customer said: \"bring a badge\"",
    "Première visite — accueil à 9h",
    "Line one\nLine two\r\nLine three",
    "Tab\tseparated, back\\slash",
    "Über 😀 emoji",
    "",
];

/// A record generator: the record's number, its metadata and the TimePass
/// it may point at give a JSON object of the fields it sets.
type Make = fn(&mut StdRng, usize, Map<String, Value>, Option<RowRef<'_>>) -> Map<String, Value>;

/// Builds the seeded database.
pub(crate) fn database(seed: u64, counts: &Counts, admin: &str) -> Db {
    let mut rng = StdRng::seed_from_u64(seed);
    let count = |r| counts.get(&r).copied().unwrap_or(0);
    let holders = count(Resource::CoworkerTimePasses) + count(Resource::ProductTimePasses);
    // Held passes point at a TimePass, so there is one whenever they are.
    let passes = if holders > 0 {
        count(Resource::TimePasses).max(1)
    } else {
        count(Resource::TimePasses)
    };
    let mut db = Db::new();
    let plan: [(Resource, usize, Make); 3] = [
        (Resource::TimePasses, passes, time_pass),
        (
            Resource::CoworkerTimePasses,
            count(Resource::CoworkerTimePasses),
            coworker_time_pass,
        ),
        (
            Resource::ProductTimePasses,
            count(Resource::ProductTimePasses),
            product_time_pass,
        ),
    ];
    let pass_layout = layout(Resource::TimePasses);
    for (resource, n, make) in plan {
        let layout = layout(resource);
        for i in 0..n {
            let id = db.table_mut(layout).allocate_id();
            let meta = meta(&mut rng, id, i, n, admin);
            let pass = (resource != Resource::TimePasses)
                .then(|| pick(&mut rng, db.table(pass_layout)))
                .flatten();
            let mut row = Row::from_map(layout, make(&mut rng, i, meta, pass));
            write::finish(&db, layout, &mut row);
            db.table_mut(layout).put(row);
        }
    }
    db
}

fn pick<'a>(rng: &mut StdRng, table: &'a Table) -> Option<RowRef<'a>> {
    let n = table.len();
    (n > 0).then(|| table.at(rng.random_range(0..n)))
}

fn pick_str(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// Metadata spread over 2024: record `i` of `n` was created at its share of
/// the year and last changed up to 60 days later.
fn meta(rng: &mut StdRng, id: i32, i: usize, n: usize, admin: &str) -> Map<String, Value> {
    let year = 366 * 24 * 3600_i64;
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let share = (i as i64).saturating_mul(year) / (n.max(1) as i64);
    let created_on = start + TimeDelta::seconds(share);
    let updated_on = created_on + TimeDelta::seconds(rng.random_range(0..60 * 24 * 3600));
    let unique_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    let updated_by = (!i.is_multiple_of(11)).then_some(admin);
    object(json!({
        "Id": id,
        "UniqueId": unique_id,
        "CreatedOn": created_on,
        "UpdatedOn": updated_on,
        "UpdatedBy": updated_by,
        "IsNew": false,
    }))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `fields` with the metadata, and undocumented fields, some nested, on
/// every seventh record.
fn record(mut meta: Map<String, Value>, i: usize, fields: Value) -> Map<String, Value> {
    meta.extend(object(fields));
    if i % 7 == 3 {
        meta.extend(object(json!({
            "UndocumentedFlag": true,
            "Integration": {
                "Source": "import «legacy»",
                "Tags": ["vip", "früh", "a \"quoted\" tag"],
                "Level": { "Depth": 2, "Note": null }
            }
        })));
    }
    meta
}

fn maybe<T>(rng: &mut StdRng, p: f64, value: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
    if rng.random_bool(p) {
        Some(value(rng))
    } else {
        None
    }
}

/// A TimePass; its names, display text and catalog names are the server's.
fn time_pass(
    rng: &mut StdRng,
    i: usize,
    m: Map<String, Value>,
    _: Option<RowRef<'_>>,
) -> Map<String, Value> {
    let base = PASS_NAMES[i % PASS_NAMES.len()];
    let name = if i < PASS_NAMES.len() {
        base.to_owned()
    } else {
        format!("{base} #{i}")
    };
    let business_id = BUSINESSES[rng.random_range(0..BUSINESSES.len())].0;
    let currency_id = CURRENCIES[rng.random_range(0..CURRENCIES.len())].0;
    let day_pass = i.is_multiple_of(3);
    // In the order the generator draws them: the same seed, the same data.
    let access_control_group_id = maybe(rng, 0.3, |r| format!("acg-{}", r.random_range(1..50)));
    let access_control_group_ids = maybe(rng, 0.2, |r| {
        format!("{},{}", r.random_range(1..50), r.random_range(50..99))
    });
    let allow_network_check_in = rng.random_bool(0.5);
    let businesses: Vec<i32> = BUSINESSES
        .iter()
        .map(|(id, _)| *id)
        .filter(|_| rng.random_bool(0.4))
        .collect();
    let counts_towards_plan_limits = rng.random_bool(0.5);
    let door_guard_group_id = maybe(rng, 0.1, |r| format!("dg-{}", r.random_range(1..9)));
    let exempt_tax_rate_id = maybe(rng, 0.2, |r| r.random_range(1..5));
    let financial_account_id = maybe(rng, 0.5, |r| r.random_range(300..310));
    let invoice_line_display_as = maybe(rng, 0.5, |_| format!("{name} – invoice line"));
    let kisi_group_id = maybe(rng, 0.2, |r| format!("kisi-{}", r.random_range(100..999)));
    let minutes_included = if day_pass {
        None
    } else {
        Some(60 * rng.random_range(1..=20))
    };
    let only_for_contacts = rng.random_bool(0.2);
    let only_for_members = rng.random_bool(0.2);
    let price = f64::from(rng.random_range(0..20_000)) / 100.0;
    let reduced_tax_rate_id = maybe(rng, 0.3, |r| r.random_range(1..5));
    let system_id = maybe(rng, 0.3, |r| {
        format!("ext-{:06}", r.random_range(0..1_000_000))
    });
    let tariffs: Vec<i32> = (0..rng.random_range(0..3))
        .map(|_| rng.random_range(500..520))
        .collect();
    let tax_rate_id = maybe(rng, 0.7, |r| r.random_range(1..5));
    let for_contacts = rng.random_bool(0.3);
    let for_members = rng.random_bool(0.3);
    let use_priority = maybe(rng, 0.5, |r| r.random_range(0..10));
    record(
        m,
        i,
        json!({
            "AccessControlGroupId": access_control_group_id,
            "AccessControlGroupIds": access_control_group_ids,
            "AllowNetworkCheckIn": allow_network_check_in,
            "Archived": i % 9 == 8,
            "BusinessId": business_id,
            "Businesses": businesses,
            "CountsTowardsPlanLimits": counts_towards_plan_limits,
            "CurrencyId": currency_id,
            "DoorGuardGroupId": door_guard_group_id,
            "ExemptTaxRateId": exempt_tax_rate_id,
            "FinancialAccountId": financial_account_id,
            "InvoiceLineDisplayAs": invoice_line_display_as,
            "KisiGroupId": kisi_group_id,
            "MinutesIncluded": minutes_included,
            "Name": name,
            "OnlyForContacts": only_for_contacts,
            "OnlyForMembers": only_for_members,
            "Price": price,
            "ReducedTaxRateId": reduced_tax_rate_id,
            "SystemId": system_id,
            "Tariffs": tariffs,
            "TaxRateId": tax_rate_id,
            "UseAsPayAsYouGoForContacts": for_contacts,
            "UseAsPayAsYouGoForMembers": for_members,
            "UsePriority": use_priority,
        }),
    )
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A random UUID drawn from the generator.
fn uuid(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// A CoworkerTimePass; its pass's name and currency, `UsedDate`,
/// `IsFromTariff` and display text are the server's.
fn coworker_time_pass(
    rng: &mut StdRng,
    i: usize,
    m: Map<String, Value>,
    pass: Option<RowRef<'_>>,
) -> Map<String, Value> {
    let pass_field = |name| {
        pass.as_ref()
            .and_then(|p| p.get(layout(Resource::TimePasses), name))
    };
    let created_on = m
        .get("CreatedOn")
        .and_then(|v| v.as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc()));
    let created_on = created_on.unwrap_or_default();
    let used = rng.random_bool(0.3);
    let invoiced = rng.random_bool(0.4);
    let total = pass_field("MinutesIncluded")
        .filter(|m| !m.is_null())
        .map(|_| rng.random_range(1..=10));
    let tariff = maybe(rng, 0.2, uuid);
    let coworker_id = rng.random_range(1..=5_000);
    let business_id = pass_field("BusinessId")
        .and_then(Cell::as_int)
        .unwrap_or(BUSINESSES[0].0.into());
    // In the order the generator draws them: the same seed, the same data.
    let checked_in = used && rng.random_bool(0.1);
    let coworker_contract_unique_id = maybe(rng, 0.1, uuid);
    let coworker_product_unique_id = maybe(rng, 0.2, uuid);
    let create_multiple = i32::from(rng.random_bool(0.5));
    let expire_date = maybe(rng, 0.5, |_| stamp(created_on + TimeDelta::days(90)));
    let free = rng.random_bool(0.1);
    let is_pay_as_you_go = rng.random_bool(0.1);
    let notes = maybe(rng, 0.6, |r| pick_str(r, NOTES));
    let price = maybe(rng, 0.5, |r| f64::from(r.random_range(0..10_000)) / 100.0);
    let purchase_order = maybe(rng, 0.3, |r| {
        format!("PO-{:05}", r.random_range(0..100_000))
    });
    let remaining_uses = total.map(|t| rng.random_range(0..=t));
    let system_id = maybe(rng, 0.2, |r| {
        format!("crm-{}", r.random_range(0..1_000_000))
    });
    record(
        m,
        i,
        json!({
            "BusinessId": business_id,
            "CheckedIn": checked_in,
            "CoworkerContractUniqueId": coworker_contract_unique_id,
            "CoworkerId": coworker_id,
            "CoworkerProductUniqueId": coworker_product_unique_id,
            "CreateMultiple": create_multiple,
            "ExpireDate": expire_date,
            "Free": free,
            "InvoiceDate": invoiced.then(|| stamp(created_on + TimeDelta::days(1))),
            "Invoiced": invoiced,
            "IsPayAsYouGo": is_pay_as_you_go,
            "Notes": notes,
            "Price": price,
            "PurchaseOrder": purchase_order,
            "RemainingUses": remaining_uses,
            "SystemId": system_id,
            "TariffTimePassUniqueId": tariff,
            "TimePassId": pass.map_or(0, |p| p.id()),
            "TotalUses": total,
            "Used": used,
        }),
    )
}

/// A ProductTimePass; its product's and pass's names and display text are
/// the server's.
fn product_time_pass(
    rng: &mut StdRng,
    i: usize,
    m: Map<String, Value>,
    pass: Option<RowRef<'_>>,
) -> Map<String, Value> {
    let product_id = if i < PRODUCTS.len() {
        PRODUCTS[i].0
    } else {
        rng.random_range(2001..2100)
    };
    // The docs' examples hold 0, outside the documented list; legacy docs
    // type it nullable.
    let expiration_type = match i % 4 {
        0 => Some(0),
        1 => None,
        _ => Some(rng.random_range(1..=6)),
    };
    let expire_time_in_months = maybe(rng, 0.4, |r| r.random_range(1..=12));
    let expire_time_in_weeks = maybe(rng, 0.2, |r| r.random_range(1..=52));
    let expires_in = maybe(rng, 0.5, |r| r.random_range(1..=90));
    let passes_included = rng.random_range(1..=20);
    let system_id = maybe(rng, 0.2, |r| format!("erp-{}", r.random_range(0..10_000)));
    record(
        m,
        i,
        json!({
            "ExpirationType": expiration_type,
            "ExpireTimeInMonths": expire_time_in_months,
            "ExpireTimeInWeeks": expire_time_in_weeks,
            "ExpiresIn": expires_in,
            "PassesIncluded": passes_included,
            "ProductId": product_id,
            "SystemId": system_id,
            "TimePassId": pass.map_or(0, |p| p.id()),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        Counts::from([
            (Resource::TimePasses, 10),
            (Resource::CoworkerTimePasses, 50),
            (Resource::ProductTimePasses, 10),
        ])
    }

    fn rows(db: &Db, resource: Resource) -> String {
        let layout = layout(resource);
        let rows: Vec<_> = db.table(layout).rows().map(|r| layout.full(r)).collect();
        serde_json::to_string(&rows).unwrap()
    }

    #[test]
    fn same_seed_same_data() {
        let a = database(7, &counts(), "a@example.com");
        let b = database(7, &counts(), "a@example.com");
        let c = database(8, &counts(), "a@example.com");
        let json = |db: &Db| rows(db, Resource::CoworkerTimePasses);
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn references_exist_and_quirks_are_present() {
        let db = database(1, &counts(), "a@example.com");
        let (pass, held) = (
            layout(Resource::TimePasses),
            layout(Resource::CoworkerTimePasses),
        );
        for r in db.table(held).rows() {
            let id = r.get(held, "TimePassId").and_then(Cell::as_int).unwrap();
            let pass_row = db.table(pass).get(i32::try_from(id).unwrap()).unwrap();
            assert_eq!(r.get(held, "TimePassName"), pass_row.get(pass, "Name"));
        }
        let text = rows(&db, Resource::ProductTimePasses);
        assert!(text.contains("\"ExpirationType\":0"));
        assert!(text.contains("\"Integration\":{"));
    }
}
