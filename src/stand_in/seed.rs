//! Deterministic seeded data: the same seed and counts give the same records.
//! The data has what real tenants send: undocumented and nested extra fields,
//! `ExpirationType` 0 and null, nulls where the docs show null, non-ASCII
//! text, quotes and newlines.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::catalog::{self, BUSINESSES, CURRENCIES, PRODUCTS};
use super::resources::{Db, Meta};
use super::store::Table;
use crate::types::{CoworkerTimePass, ProductTimePass, TimePass};
use crate::ExpirationType;

/// How many records of each resource to seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) time_passes: usize,
    pub(crate) coworker_time_passes: usize,
    pub(crate) product_time_passes: usize,
}

/// First Ids, far apart so an Id says which resource it belongs to.
const FIRST_IDS: [i32; 3] = [1_000, 100_000_000, 200_000_000];

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

/// Builds the seeded database.
pub(crate) fn database(seed: u64, counts: Counts, admin: &str) -> Db {
    let mut rng = StdRng::seed_from_u64(seed);
    let needs_pass = counts.coworker_time_passes + counts.product_time_passes > 0;
    let passes = if needs_pass {
        counts.time_passes.max(1)
    } else {
        counts.time_passes
    };
    let mut db = Db {
        time_passes: Table::new(FIRST_IDS[0]),
        coworker_time_passes: Table::new(FIRST_IDS[1]),
        product_time_passes: Table::new(FIRST_IDS[2]),
    };
    for i in 0..passes {
        let meta = meta(&mut rng, &mut db.time_passes, i, passes, admin);
        db.time_passes.insert(time_pass(&mut rng, i, meta));
    }
    for i in 0..counts.coworker_time_passes {
        let meta = meta(
            &mut rng,
            &mut db.coworker_time_passes,
            i,
            counts.coworker_time_passes,
            admin,
        );
        let pass = pick(&mut rng, db.time_passes.rows());
        let record = coworker_time_pass(&mut rng, i, meta, pass);
        db.coworker_time_passes.insert(record);
    }
    for i in 0..counts.product_time_passes {
        let meta = meta(
            &mut rng,
            &mut db.product_time_passes,
            i,
            counts.product_time_passes,
            admin,
        );
        let pass = pick(&mut rng, db.time_passes.rows());
        let record = product_time_pass(&mut rng, i, meta, pass);
        db.product_time_passes.insert(record);
    }
    db
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.random_range(0..items.len())])
}

fn pick_str(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// Metadata spread over 2024: record `i` of `n` was created at its share of
/// the year and last changed up to 60 days later.
fn meta<R: super::store::Row>(
    rng: &mut StdRng,
    table: &mut Table<R>,
    i: usize,
    n: usize,
    admin: &str,
) -> Meta {
    let year = 366 * 24 * 3600_i64;
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let share = (i as i64).saturating_mul(year) / (n.max(1) as i64);
    let created_on = start + TimeDelta::seconds(share);
    let updated_on = created_on + TimeDelta::seconds(rng.random_range(0..60 * 24 * 3600));
    Meta {
        id: table.allocate_id(),
        unique_id: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
        created_on,
        updated_on,
        updated_by: if i.is_multiple_of(11) {
            None
        } else {
            Some(admin.to_owned())
        },
        is_new: false,
    }
}

/// Undocumented fields, some nested, on every seventh record.
fn extras(i: usize) -> Map<String, Value> {
    if i % 7 != 3 {
        return Map::new();
    }
    let value = json!({
        "UndocumentedFlag": true,
        "Integration": {
            "Source": "import «legacy»",
            "Tags": ["vip", "früh", "a \"quoted\" tag"],
            "Level": { "Depth": 2, "Note": null }
        }
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn maybe<T>(rng: &mut StdRng, p: f64, value: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
    if rng.random_bool(p) {
        Some(value(rng))
    } else {
        None
    }
}

fn time_pass(rng: &mut StdRng, i: usize, m: Meta) -> TimePass {
    let base = PASS_NAMES[i % PASS_NAMES.len()];
    let name = if i < PASS_NAMES.len() {
        base.to_owned()
    } else {
        format!("{base} #{i}")
    };
    let business_id = BUSINESSES[rng.random_range(0..BUSINESSES.len())].0;
    let currency_id = CURRENCIES[rng.random_range(0..CURRENCIES.len())].0;
    let day_pass = i.is_multiple_of(3);
    TimePass {
        access_control_group_id: maybe(rng, 0.3, |r| format!("acg-{}", r.random_range(1..50))),
        access_control_group_ids: maybe(rng, 0.2, |r| {
            format!("{},{}", r.random_range(1..50), r.random_range(50..99))
        }),
        allow_network_check_in: rng.random_bool(0.5),
        archived: i % 9 == 8,
        business_id,
        business_name: catalog::business_name(business_id),
        businesses: BUSINESSES
            .iter()
            .map(|(id, _)| *id)
            .filter(|_| rng.random_bool(0.4))
            .collect(),
        counts_towards_plan_limits: rng.random_bool(0.5),
        created_on: m.created_on,
        currency_code: catalog::currency_code(currency_id),
        currency_id,
        custom_fields: None,
        door_guard_group_id: maybe(rng, 0.1, |r| format!("dg-{}", r.random_range(1..9))),
        exempt_tax_rate_id: maybe(rng, 0.2, |r| r.random_range(1..5)),
        financial_account_id: maybe(rng, 0.5, |r| r.random_range(300..310)),
        id: m.id,
        invoice_line_display_as: maybe(rng, 0.5, |_| format!("{name} – invoice line")),
        is_new: m.is_new,
        kisi_group_id: maybe(rng, 0.2, |r| format!("kisi-{}", r.random_range(100..999))),
        localization_details: None,
        minutes_included: if day_pass {
            None
        } else {
            Some(60 * rng.random_range(1..=20))
        },
        to_string_text: Some(name.clone()),
        name,
        only_for_contacts: rng.random_bool(0.2),
        only_for_members: rng.random_bool(0.2),
        price: f64::from(rng.random_range(0..20_000)) / 100.0,
        reduced_tax_rate_id: maybe(rng, 0.3, |r| r.random_range(1..5)),
        system_id: maybe(rng, 0.3, |r| {
            format!("ext-{:06}", r.random_range(0..1_000_000))
        }),
        tariffs: (0..rng.random_range(0..3))
            .map(|_| rng.random_range(500..520))
            .collect(),
        tax_rate_id: maybe(rng, 0.7, |r| r.random_range(1..5)),
        unique_id: m.unique_id,
        updated_by: m.updated_by,
        updated_on: m.updated_on,
        use_as_pay_as_you_go_for_contacts: rng.random_bool(0.3),
        use_as_pay_as_you_go_for_members: rng.random_bool(0.3),
        use_priority: maybe(rng, 0.5, |r| r.random_range(0..10)),
        extra: extras(i),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn coworker_time_pass(
    rng: &mut StdRng,
    i: usize,
    m: Meta,
    pass: Option<&TimePass>,
) -> CoworkerTimePass {
    let used = rng.random_bool(0.3);
    let invoiced = rng.random_bool(0.4);
    let total = pass
        .and_then(|p| p.minutes_included)
        .map(|_| rng.random_range(1..=10));
    let tariff = maybe(rng, 0.2, |r| {
        uuid::Builder::from_random_bytes(r.random()).into_uuid()
    });
    let coworker_id = rng.random_range(1..=5_000);
    let time_pass_name = pass.map(|p| p.name.clone());
    CoworkerTimePass {
        business_id: pass.map_or(BUSINESSES[0].0, |p| p.business_id),
        checked_in: used && rng.random_bool(0.1),
        coworker_contract_unique_id: maybe(rng, 0.1, |r| {
            uuid::Builder::from_random_bytes(r.random()).into_uuid()
        }),
        coworker_id,
        coworker_product_unique_id: maybe(rng, 0.2, |r| {
            uuid::Builder::from_random_bytes(r.random()).into_uuid()
        }),
        create_multiple: i32::from(rng.random_bool(0.5)),
        created_on: m.created_on,
        custom_fields: None,
        expire_date: maybe(rng, 0.5, |_| stamp(m.created_on + TimeDelta::days(90))),
        free: rng.random_bool(0.1),
        id: m.id,
        invoice_date: invoiced.then(|| stamp(m.created_on + TimeDelta::days(1))),
        invoiced,
        is_from_tariff: tariff.is_some(),
        is_new: m.is_new,
        is_pay_as_you_go: rng.random_bool(0.1),
        localization_details: None,
        notes: maybe(rng, 0.6, |r| pick_str(r, NOTES).to_owned()),
        price: maybe(rng, 0.5, |r| f64::from(r.random_range(0..10_000)) / 100.0),
        purchase_order: maybe(rng, 0.3, |r| {
            format!("PO-{:05}", r.random_range(0..100_000))
        }),
        remaining_uses: total.map(|t| rng.random_range(0..=t)),
        system_id: maybe(rng, 0.2, |r| {
            format!("crm-{}", r.random_range(0..1_000_000))
        }),
        tariff_time_pass_unique_id: tariff,
        time_pass_currency_code: pass.and_then(|p| p.currency_code.clone()),
        time_pass_id: pass.map_or(0, |p| p.id),
        to_string_text: Some(super::resources::coworker_display(
            time_pass_name.as_deref(),
            coworker_id,
        )),
        time_pass_name,
        total_uses: total,
        unique_id: m.unique_id,
        updated_by: m.updated_by,
        updated_on: m.updated_on,
        used,
        used_date: used.then(|| stamp(m.updated_on)),
        extra: extras(i),
    }
}

fn product_time_pass(
    rng: &mut StdRng,
    i: usize,
    m: Meta,
    pass: Option<&TimePass>,
) -> ProductTimePass {
    let product_id = if i < PRODUCTS.len() {
        PRODUCTS[i].0
    } else {
        rng.random_range(2001..2100)
    };
    let product_name = catalog::product_name(product_id);
    let time_pass_name = pass.map(|p| p.name.clone());
    ProductTimePass {
        created_on: m.created_on,
        custom_fields: None,
        // The docs' examples hold 0, outside the documented list; legacy docs
        // type it nullable.
        expiration_type: match i % 4 {
            0 => Some(ExpirationType::Other(0)),
            1 => None,
            _ => Some(ExpirationType::from(rng.random_range(1..=6))),
        },
        expire_time_in_months: maybe(rng, 0.4, |r| r.random_range(1..=12)),
        expire_time_in_weeks: maybe(rng, 0.2, |r| r.random_range(1..=52)),
        expires_in: maybe(rng, 0.5, |r| r.random_range(1..=90)),
        id: m.id,
        is_new: m.is_new,
        localization_details: None,
        passes_included: rng.random_range(1..=20),
        product_id,
        to_string_text: Some(super::resources::product_display(
            product_name.as_deref(),
            time_pass_name.as_deref(),
        )),
        product_name,
        system_id: maybe(rng, 0.2, |r| format!("erp-{}", r.random_range(0..10_000))),
        time_pass_id: pass.map_or(0, |p| p.id),
        time_pass_name,
        unique_id: m.unique_id,
        updated_by: m.updated_by,
        updated_on: m.updated_on,
        extra: extras(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        Counts {
            time_passes: 10,
            coworker_time_passes: 50,
            product_time_passes: 10,
        }
    }

    #[test]
    fn same_seed_same_data() {
        let a = database(7, counts(), "a@example.com");
        let b = database(7, counts(), "a@example.com");
        let c = database(8, counts(), "a@example.com");
        let json = |db: &Db| serde_json::to_string(db.coworker_time_passes.rows()).unwrap();
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn references_exist_and_quirks_are_present() {
        let db = database(1, counts(), "a@example.com");
        for r in db.coworker_time_passes.rows() {
            assert!(db.time_passes.get(r.time_pass_id).is_some());
        }
        let text = serde_json::to_string(db.product_time_passes.rows()).unwrap();
        assert!(text.contains("\"ExpirationType\":0"));
        assert!(text.contains("\"Integration\":{"));
    }
}
