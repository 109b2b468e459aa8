//! ProductTimePass in the stand-in: filterable fields, listing projection,
//! the checks a create or update passes (set references, an existing TimePass).

use std::sync::OnceLock;

use serde_json::Value;

use super::{field_error, require_reference, CommandDef, Db, Meta, Resource, Shape, Stamp};
use crate::stand_in::catalog;
use crate::stand_in::store::{PageMeta, Row, Table, Val};
use crate::types::{
    FieldError, ProductTimePass, ProductTimePassCreate, ProductTimePassListItem,
    ProductTimePassPage, ProductTimePassUpdate,
};

/// The ProductTimePass resource.
pub(crate) struct ProductTimePasses;

impl Row for ProductTimePass {
    fn id(&self) -> i32 {
        self.id
    }

    fn field(&self, property: &str) -> Option<Val<'_>> {
        Some(match property {
            "ProductId" => Val::Int(self.product_id.into()),
            "ProductName" => Val::text(&self.product_name),
            "TimePassId" => Val::Int(self.time_pass_id.into()),
            "TimePassName" => Val::text(&self.time_pass_name),
            "PassesIncluded" => Val::Int(self.passes_included.into()),
            "ExpireTimeInMonths" => Val::int(self.expire_time_in_months),
            "ExpireTimeInWeeks" => Val::int(self.expire_time_in_weeks),
            "ExpirationType" => Val::int(self.expiration_type.map(|t| t.code())),
            "ExpiresIn" => Val::int(self.expires_in),
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

/// The listing record: the full record less `ExpireTimeInMonths`,
/// `ExpireTimeInWeeks` and `ExpiresIn`, as the API lists it.
fn item(r: &ProductTimePass) -> ProductTimePassListItem {
    ProductTimePassListItem {
        created_on: r.created_on,
        custom_fields: r.custom_fields.clone(),
        expiration_type: r.expiration_type,
        id: r.id,
        is_new: r.is_new,
        localization_details: r.localization_details.clone(),
        passes_included: r.passes_included,
        product_id: r.product_id,
        product_name: r.product_name.clone(),
        system_id: r.system_id.clone(),
        time_pass_id: r.time_pass_id,
        time_pass_name: r.time_pass_name.clone(),
        to_string_text: r.to_string_text.clone(),
        unique_id: r.unique_id,
        updated_by: r.updated_by.clone(),
        updated_on: r.updated_on,
        extra: r.extra.clone(),
    }
}

/// Display text, as the API's `ToStringText` gives one.
pub(crate) fn display(product: Option<&str>, pass: Option<&str>) -> String {
    format!(
        "{} → {}",
        product.unwrap_or("Product"),
        pass.unwrap_or("Time pass")
    )
}

impl Resource for ProductTimePasses {
    type Full = ProductTimePass;
    type Page = ProductTimePassPage;
    type Create = ProductTimePassCreate;
    type Update = ProductTimePassUpdate;

    const ENTITY: &'static str = "ProductTimePass";
    const PATH: &'static str = "producttimepasses";

    fn shape() -> &'static Shape {
        static SHAPE: OnceLock<Shape> = OnceLock::new();
        SHAPE
            .get_or_init(Shape::of::<ProductTimePass, ProductTimePassCreate, ProductTimePassUpdate>)
    }

    fn table(db: &Db) -> &Table<ProductTimePass> {
        &db.product_time_passes
    }

    fn table_mut(db: &mut Db) -> &mut Table<ProductTimePass> {
        &mut db.product_time_passes
    }

    fn page(rows: &[&ProductTimePass], m: PageMeta) -> ProductTimePassPage {
        super::page_envelope!(
            ProductTimePassPage,
            rows.iter().map(|r| item(r)).collect(),
            m
        )
    }

    fn meta(r: &ProductTimePass) -> Meta {
        Meta {
            id: r.id,
            unique_id: r.unique_id,
            created_on: r.created_on,
            updated_on: r.updated_on,
            updated_by: r.updated_by.clone(),
            is_new: r.is_new,
        }
    }

    fn update_id(body: &ProductTimePassUpdate) -> i32 {
        body.id
    }

    fn check(db: &Db, body: &ProductTimePassUpdate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        require_reference(&mut errors, "ProductId", body.product_id);
        require_reference(&mut errors, "TimePassId", body.time_pass_id);
        if body.time_pass_id >= 1 && db.time_passes.get(body.time_pass_id).is_none() {
            errors.push(field_error(
                "TimePassId",
                "is not the Id of a TimePass",
                Some(Value::from(body.time_pass_id)),
            ));
        }
        errors
    }

    fn build(
        db: &Db,
        b: ProductTimePassUpdate,
        m: Meta,
        _prior: Option<&ProductTimePass>,
    ) -> ProductTimePass {
        let extra = Self::shape().split_extra(b.extra);
        let product_name = catalog::product_name(b.product_id);
        let time_pass_name = db.time_passes.get(b.time_pass_id).map(|p| p.name.clone());
        ProductTimePass {
            created_on: m.created_on,
            custom_fields: super::null_if_none(extra.custom_fields),
            expiration_type: b.expiration_type,
            expire_time_in_months: b.expire_time_in_months,
            expire_time_in_weeks: b.expire_time_in_weeks,
            expires_in: b.expires_in,
            id: m.id,
            is_new: m.is_new,
            localization_details: super::null_if_none(extra.localization_details),
            passes_included: b.passes_included,
            product_id: b.product_id,
            to_string_text: Some(display(product_name.as_deref(), time_pass_name.as_deref())),
            product_name,
            system_id: b.system_id,
            time_pass_id: b.time_pass_id,
            time_pass_name,
            unique_id: m.unique_id,
            updated_by: m.updated_by,
            updated_on: m.updated_on,
            extra: extra.unknown,
        }
    }

    fn commands() -> &'static [CommandDef<ProductTimePass>] {
        &[]
    }

    fn touch(r: &mut ProductTimePass, stamp: &Stamp) {
        r.updated_on = stamp.after(r.updated_on);
        r.updated_by = Some(stamp.by.clone());
    }
}
