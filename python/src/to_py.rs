//! A document as Python objects, in the shape `json.loads` gives for the JSONL sink's line:
//! a serde serializer that builds dicts, lists, str, int, float, bool and None directly.
//!
//! Written here rather than taken from `pythonize` (measured: about as fast) because the
//! shape must be JSON's: pythonize makes tuples of spans and widens an `f32` exactly
//! (`58.58000564575195`) where the JSON line has `[0, 5]` and `58.580006`. Struct field
//! and enum variant names (`span`, `kind`, `word`, … on every token) are made once per
//! document and reused.

use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString};
use serde::ser::{self, Serialize};

/// Python strings for `&'static str` names, made once per document (a handful: a short
/// list beats hashing).
#[derive(Default)]
pub struct Names(RefCell<Vec<(&'static str, Py<PyString>)>>);

impl Names {
    fn get<'py>(&self, py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
        let mut v = self.0.borrow_mut();
        if let Some((_, s)) = v.iter().find(|(n, _)| std::ptr::eq(*n, name)) {
            return s.bind(py).clone();
        }
        let s = PyString::new(py, name);
        v.push((name, s.clone().unbind()));
        s
    }
}

/// Why a value could not be made a Python object.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}
impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}
impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error(e.to_string())
    }
}

/// `value` as a Python object shaped like its JSON; with `fields`, a map or struct keeps
/// only those top-level keys (the others are never built, like the JSONL sink's selection).
pub fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    names: &Names,
    fields: &[String],
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let fields = (!fields.is_empty()).then_some(fields);
    value
        .serialize(ToPy { py, names, fields })
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))
}

#[derive(Clone, Copy)]
struct ToPy<'a, 'py> {
    py: Python<'py>,
    names: &'a Names,
    /// The top-level keys to keep (the root only; `None` below it).
    fields: Option<&'a [String]>,
}

type R<'py> = Result<Bound<'py, PyAny>, Error>;

impl<'a, 'py> ToPy<'a, 'py> {
    fn obj<T: IntoPyObject<'py>>(self, v: T) -> R<'py> {
        use pyo3::BoundObject;
        v.into_pyobject(self.py)
            .map(|b| b.into_any().into_bound())
            .map_err(|e| Error(e.into().to_string()))
    }
}

/// Collects a list.
struct Seq<'a, 'py> {
    to: ToPy<'a, 'py>,
    items: Vec<Bound<'py, PyAny>>,
}

/// Collects a list for `{variant: [...]}`.
struct Variant<'a, 'py>(Seq<'a, 'py>, &'static str);

/// Collects a dict; `variant` wraps it as `{variant: dict}`; `keep` selects its keys.
struct Map<'a, 'py> {
    to: ToPy<'a, 'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    variant: Option<&'static str>,
    keep: Option<&'a [String]>,
    /// The key just read is not kept: its value is skipped.
    skip: bool,
}

impl<'a, 'py> Seq<'a, 'py> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.items.push(v.serialize(self.to)?);
        Ok(())
    }
    fn list(self) -> R<'py> {
        Ok(PyList::new(self.to.py, self.items)?.into_any())
    }
}

impl<'a, 'py> Map<'a, 'py> {
    fn field<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) -> Result<(), Error> {
        if self.keep.is_some_and(|f| !f.iter().any(|x| x == k)) {
            return Ok(());
        }
        let v = v.serialize(self.to)?;
        self.dict.set_item(self.to.names.get(self.to.py, k), v)?;
        Ok(())
    }
    fn done(self) -> R<'py> {
        match self.variant {
            None => Ok(self.dict.into_any()),
            Some(name) => {
                let outer = PyDict::new(self.to.py);
                outer.set_item(self.to.names.get(self.to.py, name), self.dict)?;
                Ok(outer.into_any())
            }
        }
    }
}

impl<'a, 'py> ser::Serializer for ToPy<'a, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'a, 'py>;
    type SerializeTuple = Seq<'a, 'py>;
    type SerializeTupleStruct = Seq<'a, 'py>;
    type SerializeTupleVariant = Variant<'a, 'py>;
    type SerializeMap = Map<'a, 'py>;
    type SerializeStruct = Map<'a, 'py>;
    type SerializeStructVariant = Map<'a, 'py>;

    fn serialize_bool(self, v: bool) -> R<'py> {
        self.obj(v)
    }
    fn serialize_i8(self, v: i8) -> R<'py> {
        self.obj(v)
    }
    fn serialize_i16(self, v: i16) -> R<'py> {
        self.obj(v)
    }
    fn serialize_i32(self, v: i32) -> R<'py> {
        self.obj(v)
    }
    fn serialize_i64(self, v: i64) -> R<'py> {
        self.obj(v)
    }
    fn serialize_u8(self, v: u8) -> R<'py> {
        self.obj(v)
    }
    fn serialize_u16(self, v: u16) -> R<'py> {
        self.obj(v)
    }
    fn serialize_u32(self, v: u32) -> R<'py> {
        self.obj(v)
    }
    fn serialize_u64(self, v: u64) -> R<'py> {
        self.obj(v)
    }
    fn serialize_f32(self, v: f32) -> R<'py> {
        // The JSON line's decimal: the shortest that reads back as this f32.
        let shortest: f64 = v.to_string().parse().unwrap_or(f64::from(v));
        Ok(PyFloat::new(self.py, shortest).into_any())
    }
    fn serialize_f64(self, v: f64) -> R<'py> {
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn serialize_char(self, v: char) -> R<'py> {
        self.obj(v.to_string())
    }
    fn serialize_str(self, v: &str) -> R<'py> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> R<'py> {
        // JSON has no bytes: serde_json writes them as a list of numbers.
        Ok(PyList::new(self.py, v)?.into_any())
    }
    fn serialize_none(self) -> R<'py> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R<'py> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R<'py> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> R<'py> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> R<'py> {
        Ok(self.names.get(self.py, variant).into_any())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R<'py> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> R<'py> {
        let d = PyDict::new(self.py);
        d.set_item(self.names.get(self.py, variant), v.serialize(self)?)?;
        Ok(d.into_any())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'a, 'py>, Error> {
        Ok(Seq {
            to: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 'py>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a, 'py>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<'a, 'py>, Error> {
        Ok(Variant(self.serialize_seq(Some(len))?, variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a, 'py>, Error> {
        Ok(Map {
            to: ToPy {
                fields: None,
                ..self
            },
            dict: PyDict::new(self.py),
            key: None,
            variant: None,
            keep: self.fields,
            skip: false,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Map<'a, 'py>, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Map<'a, 'py>, Error> {
        let mut m = self.serialize_map(None)?;
        m.variant = Some(variant);
        Ok(m)
    }
}

/// A list's three serde forms (sequence, tuple, tuple struct) alike.
macro_rules! list_form {
    ($trait:ident, $method:ident) => {
        impl<'py> ser::$trait for Seq<'_, 'py> {
            type Ok = Bound<'py, PyAny>;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.push(v)
            }
            fn end(self) -> R<'py> {
                self.list()
            }
        }
    };
}
list_form!(SerializeSeq, serialize_element);
list_form!(SerializeTuple, serialize_element);
list_form!(SerializeTupleStruct, serialize_field);

impl<'py> ser::SerializeTupleVariant for Variant<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.0.push(v)
    }
    fn end(self) -> R<'py> {
        let Variant(seq, variant) = self;
        let (py, names) = (seq.to.py, seq.to.names);
        let d = PyDict::new(py);
        d.set_item(names.get(py, variant), seq.list()?)?;
        Ok(d.into_any())
    }
}

impl<'py> ser::SerializeMap for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        let key = k.serialize(self.to)?;
        self.skip = match self.keep {
            Some(f) => {
                let name = key.cast::<PyString>().ok().and_then(|s| s.to_cow().ok());
                !name.is_some_and(|n| f.iter().any(|x| *x == n))
            }
            None => false,
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if std::mem::take(&mut self.skip) {
            self.key = None;
            return Ok(());
        }
        let k = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without a key".into()))?;
        self.dict.set_item(k, v.serialize(self.to)?)?;
        Ok(())
    }
    fn end(self) -> R<'py> {
        self.done()
    }
}

impl<'py> ser::SerializeStruct for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(k, v)
    }
    fn end(self) -> R<'py> {
        self.done()
    }
}

impl<'py> ser::SerializeStructVariant for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(k, v)
    }
    fn end(self) -> R<'py> {
        self.done()
    }
}
