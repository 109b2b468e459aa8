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

fn lookup(table: &[(i32, &'static str)], id: i32) -> Option<String> {
    table
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, name)| (*name).to_owned())
}

pub(crate) fn business_name(id: i32) -> Option<String> {
    lookup(BUSINESSES, id)
}

pub(crate) fn currency_code(id: i32) -> Option<String> {
    lookup(CURRENCIES, id)
}

pub(crate) fn product_name(id: i32) -> Option<String> {
    lookup(PRODUCTS, id)
}
