//! `COMMENT ON` items, attached to the object they describe.

use super::{Dep, Item, Kind, ObjRef, Scope};
use crate::quote::literal;

/// What a comment is on: the SQL object type and name used in `COMMENT ON`.
#[derive(Debug, Clone, Copy)]
pub struct CommentTarget<'a> {
    /// The object the comment belongs to.
    pub obj: ObjRef,
    /// SQL object type as in `COMMENT ON <type>` (e.g. `TABLE`, `FUNCTION`, `CONSTRAINT`).
    pub sql_kind: &'a str,
    /// The object's name as SQL after the type (quoted and qualified, e.g.
    /// `cov_core.orders`, `cov_logic.add(integer, integer)`, `c ON cov_core.t`).
    pub sql_name: &'a str,
    /// Schema of the object (unquoted), for the TOC.
    pub schema: Option<&'a str>,
    /// Display name of the object (unquoted), for the TOC tag (`TABLE <name>`).
    pub tag: &'a str,
    /// Owner of the object.
    pub owner: Option<&'a str>,
}

/// The comment on `target.obj` (sub-id 0) as an item, if there is one.
pub fn comment_item(scope: &Scope, target: &CommentTarget<'_>) -> Option<Item> {
    let text = scope.comment(target.obj, 0)?;
    Some(make(
        target,
        0,
        format!(
            "COMMENT ON {} {} IS {};\n",
            target.sql_kind,
            target.sql_name,
            literal(text)
        ),
        format!("{} {}", target.sql_kind, target.tag),
    ))
}

/// Comments on columns of a relation or composite type: `columns` are
/// `(attnum, quoted column name, unquoted column name)`; `target.sql_name` is the
/// quoted qualified relation name.
pub fn column_comment_items(
    scope: &Scope,
    target: &CommentTarget<'_>,
    columns: &[(i32, String, String)],
) -> Vec<Item> {
    columns
        .iter()
        .filter_map(|(attnum, quoted, plain)| {
            let text = scope.comment(target.obj, *attnum)?;
            let sub = u32::try_from(*attnum).ok()?;
            Some(make(
                target,
                sub,
                format!(
                    "COMMENT ON COLUMN {}.{} IS {};\n",
                    target.sql_name,
                    quoted,
                    literal(text)
                ),
                format!("COLUMN {}.{}", target.tag, plain),
            ))
        })
        .collect()
}

fn make(target: &CommentTarget<'_>, sub: u32, sql: String, tag: String) -> Item {
    let mut item = Item::new(Kind::Comment, target.obj, tag, sql)
        .with_sub(sub)
        .dep(Dep::Obj(target.obj));
    item.schema = target.schema.map(str::to_string);
    item.owner = target.owner.map(str::to_string);
    item
}
