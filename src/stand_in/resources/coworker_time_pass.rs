//! CoworkerTimePass in the stand-in: filterable fields, listing projection,
//! the checks a create or update passes (set references, an existing
//! TimePass, `CreateMultiple` within what a customer can hold).

use std::sync::OnceLock;

use serde_json::Value;

use super::{field_error, require_reference, CommandDef, Db, Meta, Resource, Shape, Stamp};
use crate::stand_in::store::{PageMeta, Row, Table, Val};
use crate::types::{
    CoworkerTimePass, CoworkerTimePassCreate, CoworkerTimePassListItem, CoworkerTimePassPage,
    CoworkerTimePassUpdate, FieldError,
};

/// Most passes one create may issue: the platform's limit of passes a
/// customer can hold.
pub(crate) const MAX_CREATE_MULTIPLE: i32 = 500;

/// The CoworkerTimePass resource.
pub(crate) struct CoworkerTimePasses;

impl Row for CoworkerTimePass {
    fn id(&self) -> i32 {
        self.id
    }

    fn field(&self, property: &str) -> Option<Val<'_>> {
        Some(match property {
            "CoworkerId" => Val::Int(self.coworker_id.into()),
            "BusinessId" => Val::Int(self.business_id.into()),
            "TimePassId" => Val::Int(self.time_pass_id.into()),
            "TimePassName" => Val::text(&self.time_pass_name),
            "TimePassCurrencyCode" => Val::text(&self.time_pass_currency_code),
            "Notes" => Val::text(&self.notes),
            "PurchaseOrder" => Val::text(&self.purchase_order),
            "Used" => Val::Bool(self.used),
            "CheckedIn" => Val::Bool(self.checked_in),
            "UsedDate" => Val::text(&self.used_date),
            "RemainingUses" => Val::int(self.remaining_uses),
            "TotalUses" => Val::int(self.total_uses),
            "Free" => Val::Bool(self.free),
            "Price" => Val::num(self.price),
            "CreateMultiple" => Val::Int(self.create_multiple.into()),
            "ExpireDate" => Val::text(&self.expire_date),
            "Invoiced" => Val::Bool(self.invoiced),
            "InvoiceDate" => Val::text(&self.invoice_date),
            "IsFromTariff" => Val::Bool(self.is_from_tariff),
            "IsPayAsYouGo" => Val::Bool(self.is_pay_as_you_go),
            "TariffTimePassUniqueId" => Val::uuid(self.tariff_time_pass_unique_id),
            "CoworkerProductUniqueId" => Val::uuid(self.coworker_product_unique_id),
            "CoworkerContractUniqueId" => Val::uuid(self.coworker_contract_unique_id),
            "Id" => Val::Int(self.id.into()),
            "UniqueId" => Val::Uuid(self.unique_id),
            "CreatedOn" => Val::Time(self.created_on),
            "UpdatedOn" => Val::Time(self.updated_on),
            "UpdatedBy" => Val::text(&self.updated_by),
            "IsNew" => Val::Bool(self.is_new),
            "SystemId" => Val::text(&self.system_id),
            "ToStringText" => Val::text(&self.to_string_text),
            _ => return None,
        })
    }
}

/// The listing record: the full record less `Notes`, `PurchaseOrder`,
/// `Free`, `Price` and `CreateMultiple`, as the API lists it.
fn item(r: &CoworkerTimePass) -> CoworkerTimePassListItem {
    CoworkerTimePassListItem {
        business_id: r.business_id,
        checked_in: r.checked_in,
        coworker_contract_unique_id: r.coworker_contract_unique_id,
        coworker_id: r.coworker_id,
        coworker_product_unique_id: r.coworker_product_unique_id,
        created_on: r.created_on,
        custom_fields: r.custom_fields.clone(),
        expire_date: r.expire_date.clone(),
        id: r.id,
        invoice_date: r.invoice_date.clone(),
        invoiced: r.invoiced,
        is_from_tariff: r.is_from_tariff,
        is_new: r.is_new,
        is_pay_as_you_go: r.is_pay_as_you_go,
        localization_details: r.localization_details.clone(),
        remaining_uses: r.remaining_uses,
        system_id: r.system_id.clone(),
        tariff_time_pass_unique_id: r.tariff_time_pass_unique_id,
        time_pass_currency_code: r.time_pass_currency_code.clone(),
        time_pass_id: r.time_pass_id,
        time_pass_name: r.time_pass_name.clone(),
        to_string_text: r.to_string_text.clone(),
        total_uses: r.total_uses,
        unique_id: r.unique_id,
        updated_by: r.updated_by.clone(),
        updated_on: r.updated_on,
        used: r.used,
        used_date: r.used_date.clone(),
        extra: r.extra.clone(),
    }
}

/// Display text, as the API's `ToStringText` gives one.
pub(crate) fn display(pass_name: Option<&str>, coworker_id: i32) -> String {
    format!(
        "{} (customer {coworker_id})",
        pass_name.unwrap_or("Time pass")
    )
}

impl Resource for CoworkerTimePasses {
    type Full = CoworkerTimePass;
    type Page = CoworkerTimePassPage;
    type Create = CoworkerTimePassCreate;
    type Update = CoworkerTimePassUpdate;

    const ENTITY: &'static str = "CoworkerTimePass";
    const PATH: &'static str = "coworkertimepasses";

    fn shape() -> &'static Shape {
        static SHAPE: OnceLock<Shape> = OnceLock::new();
        SHAPE.get_or_init(
            Shape::of::<CoworkerTimePass, CoworkerTimePassCreate, CoworkerTimePassUpdate>,
        )
    }

    fn table(db: &Db) -> &Table<CoworkerTimePass> {
        &db.coworker_time_passes
    }

    fn table_mut(db: &mut Db) -> &mut Table<CoworkerTimePass> {
        &mut db.coworker_time_passes
    }

    fn page(rows: &[&CoworkerTimePass], m: PageMeta) -> CoworkerTimePassPage {
        super::page_envelope!(
            CoworkerTimePassPage,
            rows.iter().map(|r| item(r)).collect(),
            m
        )
    }

    fn meta(r: &CoworkerTimePass) -> Meta {
        Meta {
            id: r.id,
            unique_id: r.unique_id,
            created_on: r.created_on,
            updated_on: r.updated_on,
            updated_by: r.updated_by.clone(),
            is_new: r.is_new,
        }
    }

    fn update_id(body: &CoworkerTimePassUpdate) -> i32 {
        body.id
    }

    fn check(db: &Db, body: &CoworkerTimePassUpdate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        require_reference(&mut errors, "CoworkerId", body.coworker_id);
        require_reference(&mut errors, "BusinessId", body.business_id);
        require_reference(&mut errors, "TimePassId", body.time_pass_id);
        if body.time_pass_id >= 1 && db.time_passes.get(body.time_pass_id).is_none() {
            errors.push(field_error(
                "TimePassId",
                "is not the Id of a TimePass",
                Some(Value::from(body.time_pass_id)),
            ));
        }
        if !(0..=MAX_CREATE_MULTIPLE).contains(&body.create_multiple) {
            errors.push(field_error(
                "CreateMultiple",
                &format!("must be between 0 and {MAX_CREATE_MULTIPLE}"),
                Some(Value::from(body.create_multiple)),
            ));
        }
        errors
    }

    fn copies(body: &CoworkerTimePassUpdate) -> usize {
        usize::try_from(body.create_multiple).unwrap_or(1).max(1)
    }

    fn build(
        db: &Db,
        b: CoworkerTimePassUpdate,
        m: Meta,
        prior: Option<&CoworkerTimePass>,
    ) -> CoworkerTimePass {
        let extra = Self::shape().split_extra(b.extra);
        let pass = db.time_passes.get(b.time_pass_id);
        let time_pass_name = pass.map(|p| p.name.clone());
        let used = b.used.unwrap_or(false);
        // Read-only fields: the server keeps its own values on update.
        let used_date = match prior {
            Some(p) if p.used == used => p.used_date.clone(),
            _ if used => Some(m.updated_on.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            _ => None,
        };
        CoworkerTimePass {
            business_id: b.business_id,
            checked_in: prior.is_some_and(|p| p.checked_in),
            coworker_contract_unique_id: b.coworker_contract_unique_id,
            coworker_id: b.coworker_id,
            coworker_product_unique_id: b.coworker_product_unique_id,
            create_multiple: b.create_multiple,
            created_on: m.created_on,
            custom_fields: super::null_if_none(extra.custom_fields),
            expire_date: b.expire_date,
            free: b.free.unwrap_or(false),
            id: m.id,
            invoice_date: prior.and_then(|p| p.invoice_date.clone()),
            invoiced: prior.is_some_and(|p| p.invoiced),
            is_from_tariff: b.tariff_time_pass_unique_id.is_some(),
            is_new: m.is_new,
            is_pay_as_you_go: prior.is_some_and(|p| p.is_pay_as_you_go),
            localization_details: super::null_if_none(extra.localization_details),
            notes: b.notes,
            price: b.price,
            purchase_order: b.purchase_order,
            remaining_uses: prior.and_then(|p| p.remaining_uses),
            system_id: b.system_id,
            tariff_time_pass_unique_id: b.tariff_time_pass_unique_id,
            time_pass_currency_code: pass.and_then(|p| p.currency_code.clone()),
            time_pass_id: b.time_pass_id,
            to_string_text: Some(display(time_pass_name.as_deref(), b.coworker_id)),
            time_pass_name,
            total_uses: prior.and_then(|p| p.total_uses),
            unique_id: m.unique_id,
            updated_by: m.updated_by,
            updated_on: m.updated_on,
            used,
            used_date,
            extra: extra.unknown,
        }
    }

    fn commands() -> &'static [CommandDef<CoworkerTimePass>] {
        &[
            CommandDef {
                key: "MarkAsUsed",
                name: "Mark as used",
                apply: |r| r.used = true,
            },
            CommandDef {
                key: "MarkAsUnused",
                name: "Mark as unused",
                apply: |r| {
                    r.used = false;
                    r.used_date = None;
                },
            },
        ]
    }

    fn touch(r: &mut CoworkerTimePass, stamp: &Stamp) {
        r.updated_on = stamp.after(r.updated_on);
        r.updated_by = Some(stamp.by.clone());
        if r.used && r.used_date.is_none() {
            r.used_date = Some(r.updated_on.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }
}
