//! Large objects (`pg_largeobject_metadata`), grouped as pg_dump 17 does.
//!
//! Large objects with the same owner and the same ACL are put in groups of at
//! most [`MAX_PER_GROUP`]; each group gives
//! - one `LARGE OBJECT` item (section data, primary, `obj` = the first large
//!   object of the group in class `pg_largeobject`): `SELECT
//!   pg_catalog.lo_create('<oid>');` per object, `ALTER LARGE OBJECT <oid> OWNER
//!   TO r;` per object as its owner statement, the GRANTs of the group as one ACL
//!   item (diffed against `acldefault('L', owner)`), and one COMMENT item per
//!   commented object;
//! - one `BLOBS` item (`Kind::LargeObjectData`) carrying
//!   `DataSource::LargeObjects(oids)`, after its metadata item; the dump pipeline
//!   streams the contents.
//!
//! Only when large objects are dumped (`DumpOptions::dump_large_objects`). The
//! catalog is the same on every supported version.

use super::acl::{acl_sql, AclTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::catalog::DataSource;
use crate::error::Result;
use crate::quote::{ident, literal};

/// Most large objects in one group (pg_dump's `MAX_BLOBS_PER_ARCHIVE_ENTRY`).
pub const MAX_PER_GROUP: usize = 1000;

/// One large object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LargeObject {
    oid: Oid,
    owner: String,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
    comment: Option<String>,
}

/// Large objects sorted by owner and ACL (so that groups are runs), then OID.
/// Comments are read here rather than from the scope: large object OIDs are
/// chosen by users and may be below `FIRST_NORMAL_OID`.
const QUERY_SQL: &str = "\
    SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner), m.lomacl::text[], \
           pg_catalog.acldefault('L', m.lomowner)::text[], \
           pg_catalog.obj_description(m.oid, 'pg_largeobject') \
    FROM pg_catalog.pg_largeobject_metadata m \
    ORDER BY m.lomowner, m.lomacl::text, m.oid";

/// Split a list sorted by (owner, ACL) into groups of equal owner and ACL, at
/// most `max` objects each.
fn group(los: &[LargeObject], max: usize) -> Vec<&[LargeObject]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=los.len() {
        let cut = i == los.len()
            || i - start >= max
            || los[i].owner != los[start].owner
            || los[i].acl != los[start].acl;
        if cut {
            groups.push(&los[start..i]);
            start = i;
        }
    }
    groups
}

/// The TOC name of a group: the OID, or `first..last`.
fn group_name(g: &[LargeObject]) -> String {
    match (g.first(), g.last()) {
        (Some(a), Some(b)) if g.len() > 1 => format!("{}..{}", a.oid, b.oid),
        (Some(a), _) => a.oid.to_string(),
        _ => String::new(),
    }
}

/// `lo_create` for every object of a group.
fn create_sql(g: &[LargeObject]) -> String {
    g.iter()
        .map(|lo| format!("SELECT pg_catalog.lo_create('{}');\n", lo.oid))
        .collect()
}

/// `ALTER LARGE OBJECT ... OWNER TO` for every object of a group.
fn owner_sql(g: &[LargeObject]) -> String {
    g.iter()
        .map(|lo| {
            format!(
                "ALTER LARGE OBJECT {} OWNER TO {};\n",
                lo.oid,
                ident(&lo.owner)
            )
        })
        .collect()
}

/// `DROP` statement for a group (no `IF EXISTS` form exists for large objects).
fn drop_sql(g: &[LargeObject]) -> String {
    g.iter()
        .map(|lo| {
            format!(
                "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata \
                 WHERE oid = '{}';\n",
                lo.oid
            )
        })
        .collect()
}

/// The items of one group: metadata, ACL, comments, data.
fn group_items(g: &[LargeObject], scope: &Scope) -> Result<Vec<Item>> {
    let Some(first) = g.first() else {
        return Ok(Vec::new());
    };
    let obj = ObjRef::new(class::PG_LARGEOBJECT, first.oid);
    let name = group_name(g);
    let meta_item = Item::new(Kind::LargeObject, obj, name.clone(), create_sql(g))
        .primary()
        .sort_extra(format!("{:010}", first.oid))
        .owner(first.owner.clone(), owner_sql(g))
        .drop(drop_sql(g));
    let meta_key = meta_item.key;
    let mut items = vec![meta_item];

    // Privileges: the same ACL for every object of the group.
    let mut grants = String::new();
    for lo in g {
        let oid = lo.oid.to_string();
        let target = AclTarget {
            obj,
            sql_kind: "LARGE OBJECT",
            sql_name: &oid,
            schema: None,
            tag: &oid,
            owner: &lo.owner,
        };
        grants.push_str(&acl_sql(&target, lo.acl.as_deref(), &lo.acl_default, None)?);
    }
    if !grants.is_empty() {
        let mut acl =
            Item::new(Kind::Acl, obj, format!("LARGE OBJECT {name}"), grants).dep(Dep::Obj(obj));
        acl.owner = Some(first.owner.clone());
        items.push(acl);
    }

    // Comments: one item per commented object, `sub` = its position in the group.
    if !scope.opts.no_comments {
        for (i, lo) in g.iter().enumerate() {
            let Some(text) = &lo.comment else { continue };
            let mut c = Item::new(
                Kind::Comment,
                obj,
                format!("LARGE OBJECT {}", lo.oid),
                format!("COMMENT ON LARGE OBJECT {} IS {};\n", lo.oid, literal(text)),
            )
            .with_sub(u32::try_from(i).unwrap_or(u32::MAX))
            .dep(Dep::Obj(obj));
            c.owner = Some(lo.owner.clone());
            items.push(c);
        }
    }

    let mut data = Item::new(Kind::LargeObjectData, obj, name, String::new())
        .sort_extra(format!("{:010}", first.oid))
        .dep(Dep::Key(meta_key));
    data.owner = Some(first.owner.clone());
    data.data = Some(DataSource::LargeObjects(
        g.iter().map(|lo| lo.oid).collect(),
    ));
    items.push(data);
    Ok(items)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !scope.opts.dump_large_objects() {
        return Ok(Vec::new());
    }
    let rows = l.query("large objects", QUERY_SQL, &[]).await?;
    let los: Vec<LargeObject> = rows
        .iter()
        .map(|r| LargeObject {
            oid: r.get(0),
            owner: r.get(1),
            acl: r.get(2),
            acl_default: r.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
            comment: r.get(4),
        })
        .collect();
    let mut items = Vec::new();
    for g in group(&los, MAX_PER_GROUP) {
        items.extend(group_items(g, scope)?);
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce: none.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lo(oid: Oid, owner: &str, acl: Option<&[&str]>) -> LargeObject {
        LargeObject {
            oid,
            owner: owner.into(),
            acl: acl.map(|a| a.iter().map(|s| s.to_string()).collect()),
            acl_default: vec![format!("{owner}=rw/{owner}")],
            comment: None,
        }
    }

    #[test]
    fn groups_by_owner_acl_and_size() {
        let los = vec![
            lo(1, "a", None),
            lo(2, "a", None),
            lo(3, "a", None),
            lo(4, "a", Some(&["a=rw/a", "r=r/a"])),
            lo(5, "b", None),
        ];
        let groups = group(&los, 2);
        let oids: Vec<Vec<Oid>> = groups
            .iter()
            .map(|g| g.iter().map(|l| l.oid).collect())
            .collect();
        assert_eq!(oids, vec![vec![1, 2], vec![3], vec![4], vec![5]]);
        assert_eq!(group_name(groups[0]), "1..2");
        assert_eq!(group_name(groups[1]), "3");
        assert!(group(&[], 10).is_empty());
    }

    #[test]
    fn group_sql() {
        let los = vec![lo(424201, "postgres", None), lo(424202, "postgres", None)];
        assert_eq!(
            create_sql(&los),
            "SELECT pg_catalog.lo_create('424201');\nSELECT pg_catalog.lo_create('424202');\n"
        );
        assert_eq!(
            owner_sql(&los[..1]),
            "ALTER LARGE OBJECT 424201 OWNER TO postgres;\n"
        );
        assert_eq!(
            drop_sql(&los[..1]),
            "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '424201';\n"
        );
    }

    pub(crate) fn empty_scope() -> Scope {
        Scope {
            version: crate::catalog::ServerVersion(150000),
            opts: crate::options::DumpOptions::default(),
            namespaces: Default::default(),
            relations: Default::default(),
            ext_members: Default::default(),
            comments: Default::default(),
        }
    }

    #[test]
    fn group_items_metadata_acl_comments_data() {
        let mut a = lo(7, "own", Some(&["own=rw/own", "reader=r/own"]));
        a.comment = Some("it's a blob".into());
        let b = lo(9, "own", Some(&["own=rw/own", "reader=r/own"]));
        let items = group_items(&[a, b], &empty_scope()).unwrap();
        let kinds: Vec<Kind> = items.iter().map(|i| i.key.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::LargeObject,
                Kind::Acl,
                Kind::Comment,
                Kind::LargeObjectData
            ]
        );
        let obj = ObjRef::new(class::PG_LARGEOBJECT, 7);
        assert!(items.iter().all(|i| i.key.obj == obj));
        assert!(items[0].primary && !items[3].primary);
        assert_eq!(items[0].name, "7..9");
        assert_eq!(
            items[1].create,
            "GRANT SELECT ON LARGE OBJECT 7 TO reader;\nGRANT SELECT ON LARGE OBJECT 9 TO reader;\n"
        );
        assert_eq!(
            items[2].create,
            "COMMENT ON LARGE OBJECT 7 IS 'it''s a blob';\n"
        );
        assert_eq!(items[3].data, Some(DataSource::LargeObjects(vec![7, 9])));
        assert_eq!(items[3].deps, vec![Dep::Key(items[0].key)]);
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER LARGE OBJECT 7 OWNER TO own;\nALTER LARGE OBJECT 9 OWNER TO own;\n")
        );
    }
}
