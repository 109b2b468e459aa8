//! The records outside this API's scope that its records point at
//! (locations, currencies, products), with the names responses copy from them.
//! References to Ids not listed here are accepted; their names are null.

/// Locations (Business Id, name).
pub(crate) const BUSINESSES: &[(i32, &str)] = &[
    (1001, "Nexus Central"),
    (1002, "Zürich Hub"),
    (1003, "Lisboa – Baixa"),
    (1004, "The \"Loft\" Coworking"),
    (1005, "東京 Shibuya"),
];

/// Currencies (Currency Id, ISO code).
pub(crate) const CURRENCIES: &[(i32, &str)] = &[(1, "EUR"), (2, "GBP"), (3, "USD"), (4, "CHF")];

/// Products that grant passes (Product Id, name).
pub(crate) const PRODUCTS: &[(i32, &str)] = &[
    (2001, "Coffee & Desk bundle"),
    (2002, "Starter pack – 5 days"),
    (2003, "Flex \"10\" hours"),
    (2004, "Événement: journée complète"),
    (2005, "Meeting room credits"),
];

/// The names a record copies from the catalog: its field `BusinessName`
/// reads `Business` / `Name` through `BusinessId`. `None` for any other pair.
pub(crate) fn table(entity: &str, property: &str) -> Option<&'static [(i32, &'static str)]> {
    match (entity, property) {
        ("Business", "Name") => Some(BUSINESSES),
        ("Currency", "Code") => Some(CURRENCIES),
        ("Product", "Name") => Some(PRODUCTS),
        _ => None,
    }
}

/// The name of `id` in `table`, if listed.
pub(crate) fn name(table: &[(i32, &'static str)], id: i64) -> Option<&'static str> {
    table
        .iter()
        .find(|(i, _)| i64::from(*i) == id)
        .map(|(_, name)| *name)
}
