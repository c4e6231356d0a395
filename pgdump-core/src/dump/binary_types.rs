//! Which tables are dumped with binary COPY: those whose every column type has a
//! binary form pgdump can also turn back into text without a server (so that
//! `pgdump sql` works on any archive). Records, per column, how to read it.

use std::collections::HashMap;

use tokio_postgres::Client;

use crate::catalog::{DataSource, Oid};
use crate::copy_text::is_supported;
use crate::error::{QueryContext, Result};
use crate::graph::Graph;

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

/// Fill `binary_types` of every binary-safe COPY source of the graph.
pub async fn resolve(client: &Client, graph: &mut Graph) -> Result<()> {
    let relids: Vec<Oid> = graph
        .items
        .iter()
        .filter_map(|i| match &i.data {
            Some(DataSource::Copy(s)) if s.binary_safe => Some(s.relid),
            _ => None,
        })
        .collect();
    if relids.is_empty() {
        return Ok(());
    }
    let type_rows = client
        .query(
            "SELECT oid, typtype::text, typbasetype, typelem, typarray, typcategory = 'A' FROM pg_catalog.pg_type",
            &[],
        )
        .await
        .context(|| "reading types".to_string())?;
    let types: HashMap<Oid, TypeInfo> = type_rows
        .iter()
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
        .collect();
    let col_rows = client
        .query(
            "SELECT attrelid, attname::text, atttypid FROM pg_catalog.pg_attribute \
             WHERE attrelid = ANY($1) AND attnum > 0 AND NOT attisdropped",
            &[&relids],
        )
        .await
        .context(|| "reading column types".to_string())?;
    let mut col_types: HashMap<(Oid, String), Oid> = HashMap::new();
    for r in &col_rows {
        col_types.insert((r.get(0), r.get(1)), r.get(2));
    }
    for item in &mut graph.items {
        let Some(DataSource::Copy(src)) = &mut item.data else {
            continue;
        };
        if !src.binary_safe {
            continue;
        }
        let resolved: Option<Vec<String>> = src
            .columns
            .iter()
            .map(|c| {
                col_types
                    .get(&(src.relid, c.clone()))
                    .and_then(|t| binary_type(*t, &types))
            })
            .collect();
        src.binary_types = resolved.unwrap_or_default();
    }
    Ok(())
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
