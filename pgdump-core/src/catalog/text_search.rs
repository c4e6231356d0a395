//! Text search dictionaries and configurations.
//!
//! As pg_dump (`dumpTSDictionary`, `dumpTSConfig`):
//! - `CREATE TEXT SEARCH DICTIONARY d (TEMPLATE = s.t, <dictinitoption>);`, the
//!   options as the server stored them (`name = 'value', ...`);
//! - `CREATE TEXT SEARCH CONFIGURATION c (PARSER = s.p);` (which has no mappings)
//!   followed by one `ALTER TEXT SEARCH CONFIGURATION c ADD MAPPING FOR token WITH
//!   d1, d2;` per token type, token names from `ts_token_type(parser)`, dictionaries
//!   in `mapseqno` order.
//!
//! User-defined parsers and templates (no item kind exists for them yet) are
//! reported by [`unsupported`], with the census's wording.
//! Dictionaries and configurations have owners and comments, no privileges.

use super::comment::{comment_item, CommentTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::{ident, qualify};

/// A (schema, name) pair, unquoted.
type QName = (String, String);

/// One dictionary of [`DICT_QUERY`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct DictRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    template: QName,
    /// `dictinitoption`.
    options: Option<String>,
}

/// User dictionaries. Same on every version 10..18.
const DICT_QUERY: &str = "SELECT d.oid, d.dictnamespace, n.nspname::text, d.dictname::text, \
            pg_catalog.pg_get_userbyid(d.dictowner)::text, tn.nspname::text, t.tmplname::text, \
            d.dictinitoption \
     FROM pg_catalog.pg_ts_dict d \
     JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace \
     JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate \
     JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace \
     WHERE d.oid >= 16384 \
     ORDER BY d.oid";

/// One configuration of [`CONFIG_QUERY`] with its mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConfigRow {
    oid: Oid,
    nsp: Oid,
    schema: String,
    name: String,
    owner: String,
    parser: QName,
    /// `(token alias, dictionary)` in token, then sequence order.
    mappings: Vec<(String, QName)>,
}

/// User configurations, mappings as aligned arrays. Same on every version 10..18.
const CONFIG_QUERY: &str = "SELECT c.oid, c.cfgnamespace, n.nspname::text, c.cfgname::text, \
            pg_catalog.pg_get_userbyid(c.cfgowner)::text, pn.nspname::text, p.prsname::text, \
            m.tokens, m.dict_schemas, m.dicts \
     FROM pg_catalog.pg_ts_config c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace \
     JOIN pg_catalog.pg_ts_parser p ON p.oid = c.cfgparser \
     JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace \
     LEFT JOIN LATERAL ( \
        SELECT array_agg(t.alias::text ORDER BY mp.maptokentype, mp.mapseqno) AS tokens, \
               array_agg(dn.nspname::text ORDER BY mp.maptokentype, mp.mapseqno) AS dict_schemas, \
               array_agg(d.dictname::text ORDER BY mp.maptokentype, mp.mapseqno) AS dicts \
        FROM pg_catalog.pg_ts_config_map mp \
        JOIN pg_catalog.ts_token_type(c.cfgparser) t ON t.tokid = mp.maptokentype \
        JOIN pg_catalog.pg_ts_dict d ON d.oid = mp.mapdict \
        JOIN pg_catalog.pg_namespace dn ON dn.oid = d.dictnamespace \
        WHERE mp.mapcfg = c.oid) m ON true \
     WHERE c.oid >= 16384 \
     ORDER BY c.oid";

/// User parsers and templates (no item kind exists for them).
const UNSUPPORTED_QUERY: &str = "SELECT 'parser', p.oid, p.prsnamespace, n.nspname::text, \
            p.prsname::text, 3601::oid \
     FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace \
     WHERE p.oid >= 16384 \
     UNION ALL \
     SELECT 'template', t.oid, t.tmplnamespace, n.nspname::text, t.tmplname::text, 3764::oid \
     FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace \
     WHERE t.oid >= 16384 \
     ORDER BY 1, 2";

/// `CREATE TEXT SEARCH DICTIONARY ...;`
fn dict_sql(d: &DictRow) -> String {
    let opts = d
        .options
        .as_deref()
        .filter(|o| !o.is_empty())
        .map(|o| format!(",\n    {o}"))
        .unwrap_or_default();
    format!(
        "CREATE TEXT SEARCH DICTIONARY {} (\n    TEMPLATE = {}{opts}\n);\n",
        qualify(&d.schema, &d.name),
        qualify(&d.template.0, &d.template.1)
    )
}

/// `CREATE TEXT SEARCH CONFIGURATION ...;` and one `ADD MAPPING` per token type.
fn config_sql(c: &ConfigRow) -> String {
    let qn = qualify(&c.schema, &c.name);
    let mut sql = format!(
        "CREATE TEXT SEARCH CONFIGURATION {qn} (\n    PARSER = {}\n);\n",
        qualify(&c.parser.0, &c.parser.1)
    );
    let mut i = 0;
    while i < c.mappings.len() {
        let token = &c.mappings[i].0;
        let mut dicts = Vec::new();
        while i < c.mappings.len() && &c.mappings[i].0 == token {
            let (s, d) = &c.mappings[i].1;
            dicts.push(qualify(s, d));
            i += 1;
        }
        sql.push_str(&format!(
            "ALTER TEXT SEARCH CONFIGURATION {qn}\n    ADD MAPPING FOR {} WITH {};\n",
            ident(token),
            dicts.join(", ")
        ));
    }
    sql
}

/// The definition item and comment of a dictionary or configuration.
fn items_for(
    scope: &Scope,
    kind: Kind,
    obj: ObjRef,
    (schema, name, owner): (&str, &str, &str),
    create: String,
) -> Vec<Item> {
    let sql_kind = match kind {
        Kind::TsDictionary => "TEXT SEARCH DICTIONARY",
        _ => "TEXT SEARCH CONFIGURATION",
    };
    let qn = qualify(schema, name);
    let mut items = vec![Item::new(kind, obj, name, create)
        .primary()
        .schema(schema)
        .owner(
            owner,
            format!("ALTER {sql_kind} {qn} OWNER TO {};\n", ident(owner)),
        )
        .drop(format!("DROP {sql_kind} IF EXISTS {qn};\n"))];
    items.extend(comment_item(
        scope,
        &CommentTarget {
            obj,
            sql_kind,
            sql_name: &qn,
            schema: Some(schema),
            tag: name,
            owner: Some(owner),
        },
    ));
    items
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let (dict_rows, cfg_rows) = futures::try_join!(
        l.query("text search dictionaries", DICT_QUERY, &[]),
        l.query("text search configurations", CONFIG_QUERY, &[]),
    )?;
    let mut items = Vec::new();
    for r in &dict_rows {
        let d = DictRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            template: (r.get(5), r.get(6)),
            options: r.get(7),
        };
        let obj = ObjRef::new(class::PG_TS_DICT, d.oid);
        if scope.dump_obj(d.nsp, obj) {
            let sql = dict_sql(&d);
            items.extend(items_for(
                scope,
                Kind::TsDictionary,
                obj,
                (&d.schema, &d.name, &d.owner),
                sql,
            ));
        }
    }
    for r in &cfg_rows {
        let tokens: Vec<String> = super::opt_vec(r.get(7));
        let schemas: Vec<String> = super::opt_vec(r.get(8));
        let dicts: Vec<String> = super::opt_vec(r.get(9));
        let c = ConfigRow {
            oid: r.get(0),
            nsp: r.get(1),
            schema: r.get(2),
            name: r.get(3),
            owner: r.get(4),
            parser: (r.get(5), r.get(6)),
            mappings: tokens
                .into_iter()
                .zip(schemas.into_iter().zip(dicts))
                .collect(),
        };
        let obj = ObjRef::new(class::PG_TS_CONFIG, c.oid);
        if scope.dump_obj(c.nsp, obj) {
            let sql = config_sql(&c);
            items.extend(items_for(
                scope,
                Kind::TsConfiguration,
                obj,
                (&c.schema, &c.name, &c.owner),
                sql,
            ));
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): user-defined parsers and templates.
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let rows = l
        .query("text search parsers and templates", UNSUPPORTED_QUERY, &[])
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let what: String = r.get(0);
        let obj = ObjRef::new(r.get(5), r.get(1));
        if scope.dump_obj(r.get(2), obj) {
            // Same text as the census of kinds nobody handles (unsupported.rs), so
            // that the two reports of one object collapse into one line.
            out.push(format!(
                "text search {what} {}: text search {what}s are not dumped yet",
                qualify(&r.get::<_, String>(3), &r.get::<_, String>(4))
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ServerVersion;
    use crate::options::DumpOptions;
    use std::collections::{HashMap, HashSet};

    fn qn(a: &str, b: &str) -> QName {
        (a.into(), b.into())
    }

    #[test]
    fn dictionary() {
        let mut d = DictRow {
            oid: 18000,
            nsp: 16500,
            schema: "cov_types".into(),
            name: "simple_nostop".into(),
            owner: "postgres".into(),
            template: qn("pg_catalog", "simple"),
            options: Some("stopwords = 'english', accept = 'true'".into()),
        };
        assert_eq!(
            dict_sql(&d),
            "CREATE TEXT SEARCH DICTIONARY cov_types.simple_nostop (\n    TEMPLATE = pg_catalog.simple,\n    \
             stopwords = 'english', accept = 'true'\n);\n"
        );
        d.options = None;
        assert_eq!(
            dict_sql(&d),
            "CREATE TEXT SEARCH DICTIONARY cov_types.simple_nostop (\n    TEMPLATE = pg_catalog.simple\n);\n"
        );
    }

    #[test]
    fn configuration_groups_mappings_by_token() {
        let c = ConfigRow {
            oid: 18001,
            nsp: 16500,
            schema: "cov_types".into(),
            name: "cov_english".into(),
            owner: "cov_owner".into(),
            parser: qn("pg_catalog", "default"),
            mappings: vec![
                ("asciiword".into(), qn("cov_types", "english_stem_all")),
                ("int".into(), qn("pg_catalog", "simple")),
                ("int".into(), qn("pg_catalog", "english_stem")),
            ],
        };
        assert_eq!(
            config_sql(&c),
            "CREATE TEXT SEARCH CONFIGURATION cov_types.cov_english (\n    PARSER = pg_catalog.\"default\"\n);\n\
             ALTER TEXT SEARCH CONFIGURATION cov_types.cov_english\n    ADD MAPPING FOR asciiword WITH cov_types.english_stem_all;\n\
             ALTER TEXT SEARCH CONFIGURATION cov_types.cov_english\n    ADD MAPPING FOR \"int\" WITH pg_catalog.simple, pg_catalog.english_stem;\n"
        );
    }

    #[test]
    fn items_with_owner_and_comment() {
        let obj = ObjRef::new(class::PG_TS_CONFIG, 18001);
        let scope = Scope {
            version: ServerVersion(150000),
            opts: DumpOptions::default(),
            namespaces: HashMap::new(),
            relations: HashMap::new(),
            ext_members: HashSet::new(),
            comments: [((obj, 0), "english".to_string())].into_iter().collect(),
        };
        let items = items_for(
            &scope,
            Kind::TsConfiguration,
            obj,
            ("s", "c", "o"),
            "X".into(),
        );
        assert_eq!(
            items[0].alter_owner.as_deref(),
            Some("ALTER TEXT SEARCH CONFIGURATION s.c OWNER TO o;\n")
        );
        assert_eq!(
            items[0].drop.as_deref(),
            Some("DROP TEXT SEARCH CONFIGURATION IF EXISTS s.c;\n")
        );
        assert_eq!(
            items[1].create.trim_end(),
            "COMMENT ON TEXT SEARCH CONFIGURATION s.c IS 'english';"
        );
        assert_eq!(items[1].name, "TEXT SEARCH CONFIGURATION c");
    }
}
