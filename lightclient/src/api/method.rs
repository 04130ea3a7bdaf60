//! A JSON-RPC method as a type: its name, the struct of its positional parameters and the type
//! of its answer, written once and used by both the client ([`crate::rpc::RpcClient::request`])
//! and the server (`casl2_fullnode::jsonrpc::handle`). The shape follows `lsp-types`'
//! `Request` trait.
//!
//! Parameters travel as a positional JSON array (bitcoind style: `["0x…", "latest"]`). A
//! parameter struct is declared with [`params!`](crate::params): it serialises as that array,
//! and it is read back from one by [`Params::from_positional`], which names the parameter a
//! bad value was given for. A missing trailing parameter reads as `null`, so an `Option` field
//! is optional and any other field is required.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The parameters of a method: serialised as a positional array, read back from one.
pub trait Params: Serialize + Sized {
    /// The parameters' names, in position order (for error messages and documentation).
    const NAMES: &'static [&'static str];

    /// Read the parameters from a positional list; the error names the parameter (position and
    /// name) that was missing or malformed.
    fn from_positional(p: &[Value]) -> Result<Self, String>;
}

/// One JSON-RPC method.
pub trait Method {
    /// The method's name on the wire (one of the consts of [`super::node`] or [`super::devnet`]).
    const NAME: &'static str;
    /// Its positional parameters.
    type Params: Params;
    /// Its answer.
    type Result: Serialize + DeserializeOwned;
}

/// Read parameter `i` (`name`) from `p`: an absent parameter reads as `null`. Used by the code
/// [`params!`](crate::params) generates.
pub fn positional<T: DeserializeOwned>(p: &[Value], i: usize, name: &str) -> Result<T, String> {
    match p.get(i) {
        Some(v) => T::deserialize(v).map_err(|e| format!("parameter {i} ({name}): {e}")),
        None => T::deserialize(&Value::Null).map_err(|_| format!("missing parameter {i} ({name})")),
    }
}

/// Declare the parameter struct of a method: a struct with public fields, serialised as the
/// positional array of its fields in order and read back by [`Params::from_positional`].
///
/// ```
/// casl2_lightclient::params! {
///     /// Example.
///     pub struct Example {
///         /// Required.
///         pub index: u64,
///         /// Optional (absent or `null`: `None`).
///         pub count: Option<u64>,
///     }
/// }
/// use casl2_lightclient::api::Params;
/// let p = Example::from_positional(&[serde_json::json!(3)]).unwrap();
/// assert_eq!((p.index, p.count), (3, None));
/// assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::json!([3, null]));
/// ```
#[macro_export]
macro_rules! params {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fm])* pub $f: $t, )*
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeTuple;
                let n = <$name as $crate::api::Params>::NAMES.len();
                #[allow(unused_mut)]
                let mut t = s.serialize_tuple(n)?;
                $( t.serialize_element(&self.$f)?; )*
                t.end()
            }
        }

        impl $crate::api::Params for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($f)),*];

            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn from_positional(p: &[::serde_json::Value]) -> ::std::result::Result<Self, String> {
                let mut i = 0usize;
                $(
                    let $f: $t = $crate::api::positional(p, i, &stringify!($f).replace('_', " "))?;
                    i += 1;
                )*
                Ok($name { $($f),* })
            }
        }
    };
}

/// Declare a method type: `method!(/// doc\n BlockNumber = L2_BLOCKNUMBER, NoParams => u64);`
/// defines the unit struct `BlockNumber` and its [`Method`] impl.
#[macro_export]
macro_rules! method {
    ($(#[$m:meta])* $name:ident = $wire:expr, $params:ty => $result:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $crate::api::Method for $name {
            const NAME: &'static str = $wire;
            type Params = $params;
            type Result = $result;
        }
    };
}

params! {
    /// The parameters of a method that takes none.
    pub struct NoParams {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    params! {
        /// Test.
        pub struct Two {
            /// Required.
            pub block_hash: crate::api::node::Axis,
            /// Optional.
            pub count: Option<u64>,
        }
    }

    #[test]
    fn round_trip_and_errors_name_the_parameter() {
        let p = Two {
            block_hash: crate::api::node::Axis::Column,
            count: Some(4),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, json!(["column", 4]));
        let back = Two::from_positional(v.as_array().unwrap()).unwrap();
        assert_eq!(back, p);
        let e = Two::from_positional(&[]).unwrap_err();
        assert_eq!(e, "missing parameter 0 (block hash)");
        let e = Two::from_positional(&[json!("row"), json!("x")]).unwrap_err();
        assert!(e.starts_with("parameter 1 (count): invalid type"), "{e}");
        assert_eq!(serde_json::to_value(NoParams {}).unwrap(), json!([]));
        assert!(NoParams::from_positional(&[]).is_ok());
    }
}
