//! Event triggers (`pg_event_trigger`): `CREATE EVENT TRIGGER` assembled by hand
//! as pg_dump's `dumpEventTrigger`, plus `ALTER EVENT TRIGGER ... DISABLE /
//! ENABLE REPLICA / ENABLE ALWAYS`, comments and owners. Their kind sorts last
//! but one in a restore, so they do not fire on the restore's own DDL.
//!
//! Version branches: servers before 11 only know `EXECUTE PROCEDURE` (newer
//! servers accept both).

use super::comment::{comment_item, CommentTarget};
use super::function::{proc_ref, proc_ref_sql};
use super::{class, opt_vec, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::Result;
use crate::quote::{ident, literal};

/// One event trigger.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct EventTriggerRow {
    pub oid: Oid,
    pub name: String,
    /// `evtevent`: ddl_command_start, ddl_command_end, sql_drop, table_rewrite, login.
    pub event: String,
    pub owner: String,
    /// `evttags` (empty: every tag).
    pub tags: Vec<String>,
    /// The function, quoted and qualified.
    pub function: String,
    /// `evtenabled`: O, D, R, A.
    pub enabled: char,
}

/// The `CREATE EVENT TRIGGER` statement and its firing state.
pub(crate) fn create_sql(e: &EventTriggerRow, version: ServerVersion) -> String {
    let name = ident(&e.name);
    let mut q = format!("CREATE EVENT TRIGGER {name} ON {}", ident(&e.event));
    if !e.tags.is_empty() {
        let tags: Vec<String> = e.tags.iter().map(|t| literal(t)).collect();
        q.push_str(&format!("\n         WHEN TAG IN ({})", tags.join(", ")));
    }
    let execute = if version.at_least(11) {
        "FUNCTION"
    } else {
        "PROCEDURE"
    };
    q.push_str(&format!("\n   EXECUTE {execute} {}();\n", e.function));
    let action = match e.enabled {
        'D' => Some("DISABLE"),
        'R' => Some("ENABLE REPLICA"),
        'A' => Some("ENABLE ALWAYS"),
        _ => None,
    };
    if let Some(action) = action {
        q.push_str(&format!("ALTER EVENT TRIGGER {name} {action};\n"));
    }
    q
}

/// The items of one event trigger: definition and comment.
pub(crate) fn event_trigger_items(
    scope: &Scope,
    e: &EventTriggerRow,
    version: ServerVersion,
) -> Vec<Item> {
    let obj = ObjRef::new(class::PG_EVENT_TRIGGER, e.oid);
    let name = ident(&e.name);
    let mut items = vec![Item::new(
        Kind::EventTrigger,
        obj,
        e.name.clone(),
        create_sql(e, version),
    )
    .primary()
    .owner(
        e.owner.clone(),
        format!("ALTER EVENT TRIGGER {name} OWNER TO {};\n", ident(&e.owner)),
    )
    .drop(format!("DROP EVENT TRIGGER IF EXISTS {name};\n"))];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind: "EVENT TRIGGER",
            sql_name: &name,
            schema: None,
            tag: &e.name,
            owner: Some(&e.owner),
        },
    ));
    items
}

/// Event triggers are database-wide: dumped unless the dump is limited to some
/// schemas (as pg_dump, which dumps them only when dumping "everything").
fn dumps_globals(scope: &Scope) -> bool {
    scope.opts.schemas.include.is_empty()
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if !dumps_globals(scope) {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT e.oid, e.evtname::text, e.evtevent::text, pg_catalog.pg_get_userbyid(e.evtowner)::text, \
                e.evttags, {}, e.evtenabled::text \
         FROM pg_catalog.pg_event_trigger e \
         ORDER BY e.oid",
        proc_ref_sql("e.evtfoid")
    );
    let rows = l.query("event triggers", &sql, &[]).await?;
    let mut items = Vec::new();
    for r in &rows {
        let oid: Oid = r.get(0);
        if !scope.dump_global(ObjRef::new(class::PG_EVENT_TRIGGER, oid)) {
            continue;
        }
        let e = EventTriggerRow {
            oid,
            name: r.get(1),
            event: r.get(2),
            owner: r.get(3),
            tags: opt_vec(r.get(4)),
            function: proc_ref(r.get(5)).unwrap_or_default(),
            enabled: r.get::<_, String>(6).chars().next().unwrap_or('O'),
        };
        items.extend(event_trigger_items(scope, &e, l.version));
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`). The dump fails on them unless told to skip.
/// Every event trigger can be rebuilt.
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evt() -> EventTriggerRow {
        EventTriggerRow {
            oid: 70000,
            name: "cov_ddl_notice".into(),
            event: "ddl_command_end".into(),
            owner: "postgres".into(),
            tags: vec!["CREATE TABLE".into(), "ALTER TABLE".into()],
            function: "cov_logic.ddl_notice".into(),
            enabled: 'O',
        }
    }

    #[test]
    fn with_tags() {
        assert_eq!(
            create_sql(&evt(), ServerVersion(150000)),
            "CREATE EVENT TRIGGER cov_ddl_notice ON ddl_command_end\n         \
             WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')\n   \
             EXECUTE FUNCTION cov_logic.ddl_notice();\n"
        );
    }

    #[test]
    fn disabled_on_old_server() {
        let e = EventTriggerRow {
            name: "Drop".into(),
            event: "sql_drop".into(),
            tags: vec![],
            enabled: 'D',
            ..evt()
        };
        assert_eq!(
            create_sql(&e, ServerVersion(100023)),
            "CREATE EVENT TRIGGER \"Drop\" ON sql_drop\n   \
             EXECUTE PROCEDURE cov_logic.ddl_notice();\n\
             ALTER EVENT TRIGGER \"Drop\" DISABLE;\n"
        );
        let items = event_trigger_items(
            &crate::catalog::function::tests::test_scope(),
            &e,
            ServerVersion(100023),
        );
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER EVENT TRIGGER \"Drop\" OWNER TO postgres;\n")
        );
        assert_eq!(items[0].schema, None);
    }
}
