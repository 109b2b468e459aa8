//! TimePass in the stand-in: filterable fields, listing projection, the
//! record a create or update stores, and the delete refusal while passes of
//! customers or products still use it.

use std::sync::OnceLock;

use super::{require_reference, CommandDef, Db, Meta, Resource, Shape, Stamp};
use crate::stand_in::catalog;
use crate::stand_in::store::{PageMeta, Row, Table, Val};
use crate::types::{
    FieldError, TimePass, TimePassCreate, TimePassListItem, TimePassPage, TimePassUpdate,
};

/// The TimePass resource.
pub(crate) struct TimePasses;

impl Row for TimePass {
    fn id(&self) -> i32 {
        self.id
    }

    fn field(&self, property: &str) -> Option<Val<'_>> {
        Some(match property {
            "BusinessId" => Val::Int(self.business_id.into()),
            "BusinessName" => Val::text(&self.business_name),
            "Name" => Val::Text(&self.name),
            "InvoiceLineDisplayAs" => Val::text(&self.invoice_line_display_as),
            "Price" => Val::Num(self.price),
            "MinutesIncluded" => Val::int(self.minutes_included),
            "CountsTowardsPlanLimits" => Val::Bool(self.counts_towards_plan_limits),
            "UseAsPayAsYouGoForMembers" => Val::Bool(self.use_as_pay_as_you_go_for_members),
            "UseAsPayAsYouGoForContacts" => Val::Bool(self.use_as_pay_as_you_go_for_contacts),
            "UsePriority" => Val::int(self.use_priority),
            "CurrencyId" => Val::Int(self.currency_id.into()),
            "CurrencyCode" => Val::text(&self.currency_code),
            "TaxRateId" => Val::int(self.tax_rate_id),
            "ReducedTaxRateId" => Val::int(self.reduced_tax_rate_id),
            "ExemptTaxRateId" => Val::int(self.exempt_tax_rate_id),
            "FinancialAccountId" => Val::int(self.financial_account_id),
            "KisiGroupId" => Val::text(&self.kisi_group_id),
            "DoorGuardGroupId" => Val::text(&self.door_guard_group_id),
            "AccessControlGroupId" => Val::text(&self.access_control_group_id),
            "AccessControlGroupIds" => Val::text(&self.access_control_group_ids),
            "AllowNetworkCheckIn" => Val::Bool(self.allow_network_check_in),
            "OnlyForContacts" => Val::Bool(self.only_for_contacts),
            "OnlyForMembers" => Val::Bool(self.only_for_members),
            "Archived" => Val::Bool(self.archived),
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

/// The listing record: the full record less `CountsTowardsPlanLimits`,
/// `OnlyForContacts` and `OnlyForMembers`, as the API lists it.
fn item(r: &TimePass) -> TimePassListItem {
    TimePassListItem {
        access_control_group_id: r.access_control_group_id.clone(),
        access_control_group_ids: r.access_control_group_ids.clone(),
        allow_network_check_in: r.allow_network_check_in,
        archived: r.archived,
        business_id: r.business_id,
        business_name: r.business_name.clone(),
        businesses: r.businesses.clone(),
        created_on: r.created_on,
        currency_code: r.currency_code.clone(),
        currency_id: r.currency_id,
        custom_fields: r.custom_fields.clone(),
        door_guard_group_id: r.door_guard_group_id.clone(),
        exempt_tax_rate_id: r.exempt_tax_rate_id,
        financial_account_id: r.financial_account_id,
        id: r.id,
        invoice_line_display_as: r.invoice_line_display_as.clone(),
        is_new: r.is_new,
        kisi_group_id: r.kisi_group_id.clone(),
        localization_details: r.localization_details.clone(),
        minutes_included: r.minutes_included,
        name: r.name.clone(),
        price: r.price,
        reduced_tax_rate_id: r.reduced_tax_rate_id,
        system_id: r.system_id.clone(),
        tariffs: r.tariffs.clone(),
        tax_rate_id: r.tax_rate_id,
        to_string_text: r.to_string_text.clone(),
        unique_id: r.unique_id,
        updated_by: r.updated_by.clone(),
        updated_on: r.updated_on,
        use_as_pay_as_you_go_for_contacts: r.use_as_pay_as_you_go_for_contacts,
        use_as_pay_as_you_go_for_members: r.use_as_pay_as_you_go_for_members,
        use_priority: r.use_priority,
        extra: r.extra.clone(),
    }
}

/// A whole list, or an edit of the stored one: `Added`/`Removed` apply to
/// the list sent, or to the stored list when none was sent.
fn edit_list(
    sent: Vec<i32>,
    stored: Option<&Vec<i32>>,
    added: &[i32],
    removed: &[i32],
) -> Vec<i32> {
    let mut list = if sent.is_empty() && !(added.is_empty() && removed.is_empty()) {
        stored.cloned().unwrap_or_default()
    } else {
        sent
    };
    for id in added {
        if !list.contains(id) {
            list.push(*id);
        }
    }
    list.retain(|id| !removed.contains(id));
    list
}

impl Resource for TimePasses {
    type Full = TimePass;
    type Page = TimePassPage;
    type Create = TimePassCreate;
    type Update = TimePassUpdate;

    const ENTITY: &'static str = "TimePass";
    const PATH: &'static str = "timepasses";

    fn shape() -> &'static Shape {
        static SHAPE: OnceLock<Shape> = OnceLock::new();
        SHAPE.get_or_init(Shape::of::<TimePass, TimePassCreate, TimePassUpdate>)
    }

    fn table(db: &Db) -> &Table<TimePass> {
        &db.time_passes
    }

    fn table_mut(db: &mut Db) -> &mut Table<TimePass> {
        &mut db.time_passes
    }

    fn page(rows: &[&TimePass], m: PageMeta) -> TimePassPage {
        super::page_envelope!(TimePassPage, rows.iter().map(|r| item(r)).collect(), m)
    }

    fn meta(r: &TimePass) -> Meta {
        Meta {
            id: r.id,
            unique_id: r.unique_id,
            created_on: r.created_on,
            updated_on: r.updated_on,
            updated_by: r.updated_by.clone(),
            is_new: r.is_new,
        }
    }

    fn update_id(body: &TimePassUpdate) -> i32 {
        body.id
    }

    fn check(_db: &Db, body: &TimePassUpdate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        require_reference(&mut errors, "BusinessId", body.business_id);
        require_reference(&mut errors, "CurrencyId", body.currency_id);
        errors
    }

    fn build(_db: &Db, b: TimePassUpdate, m: Meta, prior: Option<&TimePass>) -> TimePass {
        let extra = Self::shape().split_extra(b.extra);
        let businesses = edit_list(
            b.businesses,
            prior.map(|p| &p.businesses),
            &b.added_businesses,
            &b.removed_businesses,
        );
        let tariffs = edit_list(
            b.tariffs,
            prior.map(|p| &p.tariffs),
            &b.added_tariffs,
            &b.removed_tariffs,
        );
        TimePass {
            access_control_group_id: b.access_control_group_id,
            // Response only: not in the bodies, so a write keeps it.
            access_control_group_ids: prior.and_then(|p| p.access_control_group_ids.clone()),
            allow_network_check_in: b.allow_network_check_in.unwrap_or(false),
            archived: b.archived.unwrap_or(false),
            business_id: b.business_id,
            business_name: catalog::business_name(b.business_id),
            businesses,
            counts_towards_plan_limits: b.counts_towards_plan_limits.unwrap_or(false),
            created_on: m.created_on,
            currency_code: catalog::currency_code(b.currency_id),
            currency_id: b.currency_id,
            custom_fields: super::null_if_none(extra.custom_fields),
            door_guard_group_id: b.door_guard_group_id,
            exempt_tax_rate_id: b.exempt_tax_rate_id,
            financial_account_id: b.financial_account_id,
            id: m.id,
            invoice_line_display_as: b.invoice_line_display_as,
            is_new: m.is_new,
            kisi_group_id: b.kisi_group_id,
            localization_details: super::null_if_none(extra.localization_details),
            minutes_included: b.minutes_included,
            to_string_text: Some(b.name.clone()),
            name: b.name,
            only_for_contacts: b.only_for_contacts.unwrap_or(false),
            only_for_members: b.only_for_members.unwrap_or(false),
            price: b.price,
            reduced_tax_rate_id: b.reduced_tax_rate_id,
            system_id: b.system_id,
            tariffs,
            tax_rate_id: b.tax_rate_id,
            unique_id: m.unique_id,
            updated_by: m.updated_by,
            updated_on: m.updated_on,
            use_as_pay_as_you_go_for_contacts: b.use_as_pay_as_you_go_for_contacts.unwrap_or(false),
            use_as_pay_as_you_go_for_members: b.use_as_pay_as_you_go_for_members.unwrap_or(false),
            use_priority: b.use_priority,
            extra: extra.unknown,
        }
    }

    fn after_write(db: &mut Db, id: i32) {
        let Some(pass) = db.time_passes.get(id) else {
            return;
        };
        let (name, code) = (Some(pass.name.clone()), pass.currency_code.clone());
        for held in db.coworker_time_passes.rows_mut() {
            if held.time_pass_id == id {
                held.time_pass_name.clone_from(&name);
                held.time_pass_currency_code.clone_from(&code);
            }
        }
        for link in db.product_time_passes.rows_mut() {
            if link.time_pass_id == id {
                link.time_pass_name.clone_from(&name);
            }
        }
    }

    fn in_use(db: &Db, id: i32) -> bool {
        db.coworker_time_passes
            .rows()
            .iter()
            .any(|r| r.time_pass_id == id)
            || db
                .product_time_passes
                .rows()
                .iter()
                .any(|r| r.time_pass_id == id)
    }

    fn commands() -> &'static [CommandDef<TimePass>] {
        &[
            CommandDef {
                key: "ArchiveTimePass",
                name: "Archive",
                apply: |r| r.archived = true,
            },
            CommandDef {
                key: "UnarchiveTimePass",
                name: "Unarchive",
                apply: |r| r.archived = false,
            },
        ]
    }

    fn touch(r: &mut TimePass, stamp: &Stamp) {
        r.updated_on = stamp.after(r.updated_on);
        r.updated_by = Some(stamp.by.clone());
    }
}
