//! Turning one [`Field`] of the wire types into the value it must be; each misfit is noted,
//! with its JSON path, among the request's problems.

use serde_json::{Map, Value};

use super::wire::Field;
use super::{MAX_CC, Problem};
use crate::domain::codes::ErrorCode;

#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>);

impl Problems {
    pub(super) fn push(&mut self, code: ErrorCode, description: impl Into<String>) {
        self.0.push(Problem::new(code, description));
    }

    pub(super) fn invalid(&mut self, description: impl Into<String>) {
        self.push(ErrorCode::InvalidRequest, description);
    }

    /// `rest` holds only the fields no wire type names, in the map's order.
    pub(super) fn unknown_fields(&mut self, rest: &Map<String, Value>, path: &str) {
        for key in rest.keys() {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.invalid(format!("{at}: unknown field"));
        }
    }

    pub(super) fn enumeration<T>(
        &mut self,
        field: Field<String>,
        name: &str,
        missing: ErrorCode,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        match field {
            Field::Missing => {
                self.push(missing, format!("messageAttributes.{name} is required"));
                None
            }
            Field::Value(s) => {
                let parsed = parse(&s);
                if parsed.is_none() {
                    self.invalid(format!(
                        "messageAttributes.{name}: unknown value {s:?}, expected {expected}"
                    ));
                }
                parsed
            }
            Field::Misfit(_) => {
                self.invalid(format!(
                    "messageAttributes.{name}: expected a string, {expected}"
                ));
                None
            }
        }
    }

    /// A field that may be left out; a misfit is reported as not being `expected`.
    pub(super) fn optional<T>(&mut self, field: Field<T>, path: &str, expected: &str) -> Option<T> {
        match field {
            Field::Missing => None,
            Field::Value(v) => Some(v),
            Field::Misfit(_) => {
                self.invalid(format!("{path}: expected {expected}"));
                None
            }
        }
    }

    pub(super) fn string(&mut self, field: Field<String>, path: &str) -> Option<String> {
        self.optional(field, path, "a string")
    }

    pub(super) fn boolean(&mut self, field: Field<bool>, path: &str) -> Option<bool> {
        self.optional(field, path, "a boolean")
    }

    pub(super) fn string_list(&mut self, field: Field<Vec<Value>>, path: &str) -> Vec<String> {
        match field {
            Field::Missing => Vec::new(),
            Field::Value(items) if items.len() <= MAX_CC => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s),
                        _ => self.invalid(format!("{path}[{i}]: expected a string")),
                    }
                }
                out
            }
            Field::Value(_) => {
                self.invalid(format!("{path}: at most {MAX_CC} addresses"));
                Vec::new()
            }
            Field::Misfit(_) => {
                self.invalid(format!("{path}: expected a list of strings"));
                Vec::new()
            }
        }
    }
}
