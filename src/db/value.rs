//! Values crossing the seam between the repositories and a driver: what a
//! statement is bound with (`Param`) and what a column is read as
//! (`Column`), through one small borrowed `ValueRef` that every engine binds
//! and produces. Booleans are integers 0/1 on both engines.

use crate::types::Guid;

/// A value as bound or read, borrowed from its owner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    /// Bound as its canonical text; each driver writes it out itself.
    Guid(Guid),
}

impl ValueRef<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
            ValueRef::Guid(_) => "a GUID",
        }
    }
}

/// A value bound to a statement.
pub trait Param: Sync {
    fn value(&self) -> ValueRef<'_>;
}

impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> ValueRef<'_> {
        (**self).value()
    }
}

impl<T: Param> Param for Option<T> {
    fn value(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, Param::value)
    }
}

macro_rules! integer_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> ValueRef<'_> {
                ValueRef::Integer(i64::from(*self))
            }
        }
    )*};
}
integer_param!(i64, i32, u32, u16, u8, bool);

impl Param for f64 {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl Param for str {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for String {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for [u8] {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

/// A value with nothing to borrow from (a GUID's text is made on the fly).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(t.to_string()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Guid(g) => Value::Text(g.to_text()),
        }
    }
}

impl Param for Value {
    fn value(&self) -> ValueRef<'_> {
        self.as_ref()
    }
}

/// GUIDs are stored as their canonical text (upper-case, hyphenated).
impl Param for Guid {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Guid(*self)
    }
}

/// A value read from a column.
pub trait Column: Sized {
    /// `Err` says what was found instead.
    fn column(v: ValueRef<'_>) -> Result<Self, String>;
}

fn wrong(v: ValueRef<'_>, wanted: &str) -> String {
    format!("expected {wanted}, found {}", v.kind())
}

impl Column for i64 {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            other => Err(wrong(other, "an integer")),
        }
    }
}

macro_rules! narrow_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn column(v: ValueRef<'_>) -> Result<Self, String> {
                let i = i64::column(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
narrow_column!(i32, u32, u16, u8, u64, usize);

impl Column for bool {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(i64::column(v)? != 0)
    }
}

impl Column for f64 {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Real(r) => Ok(r),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(wrong(other, "a number")),
        }
    }
}

impl Column for String {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(t) => Ok(t.to_string()),
            other => Err(wrong(other, "text")),
        }
    }
}

impl Column for Vec<u8> {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(wrong(other, "a blob")),
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            other => T::column(other).map(Some),
        }
    }
}

impl Column for Value {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(Value::from(v))
    }
}

impl Column for Guid {
    fn column(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(t) => Guid::parse(t).ok_or_else(|| "stored GUID is malformed".into()),
            other => Err(wrong(other, "a GUID")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_seam() {
        assert_eq!(true.value(), ValueRef::Integer(1));
        assert_eq!(Some(7u32).value(), ValueRef::Integer(7));
        assert_eq!(None::<&str>.value(), ValueRef::Null);
        assert_eq!(bool::column(ValueRef::Integer(0)), Ok(false));
        assert_eq!(Option::<i64>::column(ValueRef::Null), Ok(None));
        assert!(u32::column(ValueRef::Integer(-1)).is_err());
        assert!(String::column(ValueRef::Integer(1)).is_err());
        let g = Guid::new_random();
        let text = Value::from(g.value());
        assert_eq!(Guid::column(text.as_ref()), Ok(g));
    }
}
