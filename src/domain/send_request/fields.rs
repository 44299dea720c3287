//! Reading one field of a JSON object as the type it must have; each misfit is noted, with
//! its JSON path, among the request's problems.

use serde_json::{Map, Value};

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

    pub(super) fn unknown_fields(
        &mut self,
        object: &Map<String, Value>,
        known: &[&str],
        path: &str,
    ) {
        for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
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
        object: &Map<String, Value>,
        field: &str,
        missing: ErrorCode,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        match object.get(field) {
            None | Some(Value::Null) => {
                self.push(missing, format!("messageAttributes.{field} is required"));
                None
            }
            Some(Value::String(s)) => {
                let parsed = parse(s);
                if parsed.is_none() {
                    self.invalid(format!(
                        "messageAttributes.{field}: unknown value {s:?}, expected {expected}"
                    ));
                }
                parsed
            }
            Some(_) => {
                self.invalid(format!(
                    "messageAttributes.{field}: expected a string, {expected}"
                ));
                None
            }
        }
    }

    pub(super) fn string(
        &mut self,
        object: &Map<String, Value>,
        field: &str,
        path: &str,
    ) -> Option<String> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.invalid(format!("{path}: expected a string"));
                None
            }
        }
    }

    pub(super) fn boolean(
        &mut self,
        object: &Map<String, Value>,
        field: &str,
        path: &str,
    ) -> Option<bool> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.invalid(format!("{path}: expected a boolean"));
                None
            }
        }
    }

    pub(super) fn string_list(
        &mut self,
        object: &Map<String, Value>,
        field: &str,
        path: &str,
    ) -> Vec<String> {
        match object.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_CC => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => self.invalid(format!("{path}[{i}]: expected a string")),
                    }
                }
                out
            }
            Some(Value::Array(_)) => {
                self.invalid(format!("{path}: at most {MAX_CC} addresses"));
                Vec::new()
            }
            Some(_) => {
                self.invalid(format!("{path}: expected a list of strings"));
                Vec::new()
            }
        }
    }
}
