//! Typed values as JSON, for action data and context packages.

use serde_json::{json, Value as Json};
use stagecraft_ir::{decimal, Program, Type};

use crate::symbols::Symbols;
use crate::time;

/// Money and decimals are strings (exact); durations are compact strings;
/// timestamps and dates are ISO strings; enums and stages by name.
pub fn value_json(value: i64, ty: Type, program: &Program, symbols: &Symbols) -> Json {
    match ty {
        Type::Bool => json!(value != 0),
        Type::Int => json!(value),
        Type::Decimal => json!(decimal::format(value)),
        Type::String | Type::Timezone => json!(symbols.name(value)),
        Type::Duration => json!(time::format_duration(value)),
        Type::Timestamp => json!(time::format(value)),
        Type::Date => json!(time::format_date(value)),
        Type::Enum(e) => program
            .enums
            .get(e as usize)
            .and_then(|d| d.variants.get(value as usize))
            .map_or(Json::Null, |v| json!(v)),
        Type::Stage => program
            .stages
            .get(value as usize)
            .map_or(Json::Null, |s| json!(s.name)),
    }
}
