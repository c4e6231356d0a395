//! Which tables are dumped with binary COPY: those whose every column type has a
//! binary form pgdump can also turn back into text without a server (so that
//! `pgdump sql` works on any archive). Records, per column, how to read it.

use std::collections::HashMap;

use super::Oid;
use crate::copy_text::is_supported;

/// What we need to know of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// `typtype`: b, c, d, e, p, r, m.
    pub typtype: char,
    /// Base type of a domain.
    pub basetype: Oid,
    /// Element type of an array (0 if not an array).
    pub elem: Oid,
    /// Array type of this type.
    pub array: Oid,
    /// `typcategory` = 'A' for arrays.
    pub is_array: bool,
}

/// How column type `oid` is read in binary, or `None` if pgdump cannot convert it.
pub fn binary_type(oid: Oid, types: &HashMap<Oid, TypeInfo>) -> Option<String> {
    let base = domain_base(oid, types)?;
    let t = types.get(&base)?;
    match t.typtype {
        'e' => Some("enum".into()),
        _ if t.is_array && t.elem != 0 => {
            let elem = domain_base(t.elem, types)?;
            let et = types.get(&elem)?;
            if et.typtype == 'e' {
                Some("enum[]".into())
            } else if elem != t.elem {
                // array of a domain: read as the array of the domain's base type
                let arr = et.array;
                is_supported(arr).then(|| arr.to_string())
            } else {
                is_supported(base).then(|| base.to_string())
            }
        }
        _ => is_supported(base).then(|| base.to_string()),
    }
}

fn domain_base(mut oid: Oid, types: &HashMap<Oid, TypeInfo>) -> Option<Oid> {
    for _ in 0..32 {
        let t = types.get(&oid)?;
        if t.typtype != 'd' {
            return Some(oid);
        }
        oid = t.basetype;
    }
    None
}

/// The types [`binary_type`] needs: every type but the row types of relations and
/// their arrays (one each per table, and never binary-safe).
pub(crate) const TYPES_SQL: &str =
    "SELECT t.oid, t.typtype::pg_catalog.text, t.typbasetype, t.typelem, \
            t.typarray, t.typcategory = 'A' \
     FROM pg_catalog.pg_type t \
     WHERE t.typrelid = 0 \
       AND (t.typelem = 0 OR t.typelem NOT IN \
            (SELECT r.oid FROM pg_catalog.pg_type r WHERE r.typrelid <> 0))";

/// The rows of [`TYPES_SQL`] by OID.
pub(crate) fn type_map(rows: &[tokio_postgres::Row]) -> HashMap<Oid, TypeInfo> {
    rows.iter()
        .map(|r| {
            (
                r.get::<_, Oid>(0),
                TypeInfo {
                    typtype: r.get::<_, String>(1).chars().next().unwrap_or('b'),
                    basetype: r.get(2),
                    elem: r.get(3),
                    array: r.get(4),
                    is_array: r.get(5),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(typtype: char, basetype: Oid, elem: Oid, array: Oid, is_array: bool) -> TypeInfo {
        TypeInfo {
            typtype,
            basetype,
            elem,
            array,
            is_array,
        }
    }

    #[test]
    fn resolution() {
        let mut m = HashMap::new();
        m.insert(23, t('b', 0, 0, 1007, false)); // int4
        m.insert(1007, t('b', 0, 23, 0, true)); // int4[]
        m.insert(2205, t('b', 0, 0, 2210, false)); // regclass
        m.insert(20000, t('d', 23, 0, 20001, false)); // domain over int4
        m.insert(20001, t('b', 0, 20000, 0, true)); // domain[]
        m.insert(20002, t('e', 0, 0, 20003, false)); // enum
        m.insert(20003, t('b', 0, 20002, 0, true)); // enum[]
        m.insert(20004, t('c', 0, 0, 20005, false)); // composite
        assert_eq!(binary_type(23, &m).as_deref(), Some("23"));
        assert_eq!(binary_type(1007, &m).as_deref(), Some("1007"));
        assert_eq!(binary_type(2205, &m), None);
        assert_eq!(binary_type(20000, &m).as_deref(), Some("23"));
        assert_eq!(binary_type(20001, &m).as_deref(), Some("1007"));
        assert_eq!(binary_type(20002, &m).as_deref(), Some("enum"));
        assert_eq!(binary_type(20003, &m).as_deref(), Some("enum[]"));
        assert_eq!(binary_type(20004, &m), None);
        assert_eq!(binary_type(99999, &m), None);
    }
}
