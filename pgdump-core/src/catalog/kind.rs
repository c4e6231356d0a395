//! Kinds of TOC items: their TOC tag, sort priority and restore section.

use pgdump_format::Section;

/// The kind of a TOC item.
///
/// The declaration order is not significant; [`Kind::priority`] gives the sort
/// order (pg_dump's type priorities), [`Kind::section`] the restore section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    // ---- pre-data
    /// `CREATE SCHEMA` (or, for `public`, only its owner/ACL/comment).
    Schema,
    /// `CREATE PROCEDURAL LANGUAGE` (not extension-owned).
    Language,
    /// `CREATE COLLATION`.
    Collation,
    /// `CREATE EXTENSION`.
    Extension,
    /// Enum, composite, range types.
    Type,
    /// `CREATE DOMAIN`.
    Domain,
    /// `CREATE CAST`.
    Cast,
    /// `CREATE FUNCTION`.
    Function,
    /// `CREATE PROCEDURE`.
    Procedure,
    /// `CREATE AGGREGATE`.
    Aggregate,
    /// `CREATE OPERATOR`.
    Operator,
    /// `CREATE OPERATOR FAMILY` (+ members not in a class).
    OperatorFamily,
    /// `CREATE OPERATOR CLASS`.
    OperatorClass,
    /// `CREATE TEXT SEARCH DICTIONARY`.
    TsDictionary,
    /// `CREATE TEXT SEARCH CONFIGURATION`.
    TsConfiguration,
    /// `CREATE FOREIGN DATA WRAPPER`.
    ForeignDataWrapper,
    /// `CREATE SERVER`.
    ForeignServer,
    /// `CREATE USER MAPPING`.
    UserMapping,
    /// `CREATE TABLE` (incl. partitioned tables).
    Table,
    /// `CREATE FOREIGN TABLE`.
    ForeignTable,
    /// `CREATE VIEW`.
    View,
    /// `CREATE MATERIALIZED VIEW ... WITH NO DATA`.
    MaterializedView,
    /// `CREATE SEQUENCE` (and identity sequences via `ALTER TABLE ... ADD GENERATED`).
    Sequence,
    /// `ALTER SEQUENCE ... OWNED BY`.
    SequenceOwnedBy,
    /// `ALTER TABLE parent ATTACH PARTITION child FOR VALUES ...`.
    TableAttach,
    /// A column default set separately (`ALTER TABLE ... ALTER COLUMN ... SET DEFAULT`).
    Default,
    // ---- data
    /// Table rows (COPY streams).
    TableData,
    /// `SELECT setval(...)`.
    SequenceSet,
    /// Large object metadata (`lo_create`, owner, ACL, comment).
    LargeObject,
    /// Large object contents (streams).
    LargeObjectData,
    // ---- post-data
    /// PRIMARY KEY / UNIQUE / EXCLUDE constraints.
    Constraint,
    /// CHECK constraints added separately (NOT VALID, or loop repair).
    CheckConstraint,
    /// `CREATE INDEX`.
    Index,
    /// `ALTER INDEX parent ATTACH PARTITION child`.
    IndexAttach,
    /// `CREATE STATISTICS`.
    Statistics,
    /// `CREATE RULE`.
    Rule,
    /// `CREATE TRIGGER`.
    Trigger,
    /// FOREIGN KEY constraints.
    FkConstraint,
    /// `CREATE POLICY`.
    Policy,
    /// `ALTER TABLE ... ENABLE ROW LEVEL SECURITY`.
    RowSecurity,
    /// `CREATE PUBLICATION`.
    Publication,
    /// `ALTER PUBLICATION ... ADD TABLE`.
    PublicationTable,
    /// `ALTER PUBLICATION ... ADD TABLES IN SCHEMA`.
    PublicationSchema,
    /// `ALTER DEFAULT PRIVILEGES`.
    DefaultAcl,
    /// `CREATE EVENT TRIGGER`.
    EventTrigger,
    /// `REFRESH MATERIALIZED VIEW`.
    RefreshMatview,
    // ---- attached to another item (section none)
    /// `COMMENT ON ...`.
    Comment,
    /// `GRANT` / `REVOKE`.
    Acl,
    /// Database-level properties (only with `--create`).
    Database,
    /// A role the dumped objects refer to, created on restore when missing.
    Role,
}

impl Kind {
    /// Every kind.
    pub const ALL: &'static [Kind] = &[
        Kind::Schema,
        Kind::Language,
        Kind::Collation,
        Kind::Extension,
        Kind::Type,
        Kind::Domain,
        Kind::Cast,
        Kind::Function,
        Kind::Procedure,
        Kind::Aggregate,
        Kind::Operator,
        Kind::OperatorFamily,
        Kind::OperatorClass,
        Kind::TsDictionary,
        Kind::TsConfiguration,
        Kind::ForeignDataWrapper,
        Kind::ForeignServer,
        Kind::UserMapping,
        Kind::Table,
        Kind::ForeignTable,
        Kind::View,
        Kind::MaterializedView,
        Kind::Sequence,
        Kind::SequenceOwnedBy,
        Kind::TableAttach,
        Kind::Default,
        Kind::TableData,
        Kind::SequenceSet,
        Kind::LargeObject,
        Kind::LargeObjectData,
        Kind::Constraint,
        Kind::CheckConstraint,
        Kind::Index,
        Kind::IndexAttach,
        Kind::Statistics,
        Kind::Rule,
        Kind::Trigger,
        Kind::FkConstraint,
        Kind::Policy,
        Kind::RowSecurity,
        Kind::Publication,
        Kind::PublicationTable,
        Kind::PublicationSchema,
        Kind::DefaultAcl,
        Kind::EventTrigger,
        Kind::RefreshMatview,
        Kind::Comment,
        Kind::Acl,
        Kind::Database,
        Kind::Role,
    ];

    /// The TOC tag (as pg_dump's `desc` where one exists).
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Schema => "SCHEMA",
            Kind::Language => "PROCEDURAL LANGUAGE",
            Kind::Collation => "COLLATION",
            Kind::Extension => "EXTENSION",
            Kind::Type => "TYPE",
            Kind::Domain => "DOMAIN",
            Kind::Cast => "CAST",
            Kind::Function => "FUNCTION",
            Kind::Procedure => "PROCEDURE",
            Kind::Aggregate => "AGGREGATE",
            Kind::Operator => "OPERATOR",
            Kind::OperatorFamily => "OPERATOR FAMILY",
            Kind::OperatorClass => "OPERATOR CLASS",
            Kind::TsDictionary => "TEXT SEARCH DICTIONARY",
            Kind::TsConfiguration => "TEXT SEARCH CONFIGURATION",
            Kind::ForeignDataWrapper => "FOREIGN DATA WRAPPER",
            Kind::ForeignServer => "SERVER",
            Kind::UserMapping => "USER MAPPING",
            Kind::Table => "TABLE",
            Kind::ForeignTable => "FOREIGN TABLE",
            Kind::View => "VIEW",
            Kind::MaterializedView => "MATERIALIZED VIEW",
            Kind::Sequence => "SEQUENCE",
            Kind::SequenceOwnedBy => "SEQUENCE OWNED BY",
            Kind::TableAttach => "TABLE ATTACH",
            Kind::Default => "DEFAULT",
            Kind::TableData => "TABLE DATA",
            Kind::SequenceSet => "SEQUENCE SET",
            Kind::LargeObject => "LARGE OBJECT",
            Kind::LargeObjectData => "BLOBS",
            Kind::Constraint => "CONSTRAINT",
            Kind::CheckConstraint => "CHECK CONSTRAINT",
            Kind::Index => "INDEX",
            Kind::IndexAttach => "INDEX ATTACH",
            Kind::Statistics => "STATISTICS",
            Kind::Rule => "RULE",
            Kind::Trigger => "TRIGGER",
            Kind::FkConstraint => "FK CONSTRAINT",
            Kind::Policy => "POLICY",
            Kind::RowSecurity => "ROW SECURITY",
            Kind::Publication => "PUBLICATION",
            Kind::PublicationTable => "PUBLICATION TABLE",
            Kind::PublicationSchema => "PUBLICATION TABLES IN SCHEMA",
            Kind::DefaultAcl => "DEFAULT ACL",
            Kind::EventTrigger => "EVENT TRIGGER",
            Kind::RefreshMatview => "MATERIALIZED VIEW DATA",
            Kind::Comment => "COMMENT",
            Kind::Acl => "ACL",
            Kind::Database => "DATABASE",
            Kind::Role => "ROLE",
        }
    }

    /// Parse a TOC tag back into a kind.
    pub fn from_tag(tag: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.tag() == tag)
    }

    /// Sort priority (pg_dump's `dbObjectTypePriority`): lower sorts first.
    pub fn priority(self) -> u32 {
        match self {
            Kind::Database | Kind::Role => 0,
            Kind::Schema => 1,
            Kind::Language => 2,
            Kind::Collation => 3,
            Kind::Extension => 5,
            Kind::Type | Kind::Domain => 6,
            Kind::Cast => 7,
            Kind::Function | Kind::Procedure => 8,
            Kind::Aggregate => 9,
            Kind::Operator => 11,
            Kind::OperatorFamily | Kind::OperatorClass => 12,
            Kind::TsDictionary => 16,
            Kind::TsConfiguration => 17,
            Kind::ForeignDataWrapper => 18,
            Kind::ForeignServer | Kind::UserMapping => 19,
            Kind::Table
            | Kind::ForeignTable
            | Kind::View
            | Kind::MaterializedView
            | Kind::Sequence
            | Kind::SequenceOwnedBy => 20,
            Kind::TableAttach => 21,
            Kind::Default => 23,
            Kind::TableData => 25,
            Kind::SequenceSet => 26,
            Kind::LargeObject => 27,
            Kind::LargeObjectData => 28,
            Kind::Constraint | Kind::CheckConstraint => 31,
            Kind::Index => 32,
            Kind::IndexAttach => 33,
            Kind::Statistics => 34,
            Kind::Rule => 35,
            Kind::Trigger => 36,
            Kind::FkConstraint => 37,
            Kind::Policy | Kind::RowSecurity => 38,
            Kind::Publication => 39,
            Kind::PublicationTable => 40,
            Kind::PublicationSchema => 41,
            Kind::DefaultAcl => 44,
            Kind::EventTrigger => 45,
            Kind::RefreshMatview => 46,
            // Attached items are placed right after their parent, never sorted on their own.
            Kind::Comment | Kind::Acl => 100,
        }
    }

    /// The restore section of items of this kind.
    pub fn section(self) -> Section {
        match self {
            Kind::Comment | Kind::Acl => Section::None,
            Kind::TableData | Kind::SequenceSet | Kind::LargeObject | Kind::LargeObjectData => {
                Section::Data
            }
            k if k.priority() > 28 => Section::PostData,
            _ => Section::PreData,
        }
    }

    /// Items of this kind are emitted right after the item they belong to.
    pub fn is_attachment(self) -> bool {
        matches!(self, Kind::Comment | Kind::Acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_are_unique() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_tag(k.tag()), Some(*k), "{k:?}");
        }
    }

    #[test]
    fn sections() {
        assert_eq!(Kind::Table.section(), Section::PreData);
        assert_eq!(Kind::TableData.section(), Section::Data);
        assert_eq!(Kind::Index.section(), Section::PostData);
        assert_eq!(Kind::RefreshMatview.section(), Section::PostData);
        assert_eq!(Kind::Comment.section(), Section::None);
        assert_eq!(Kind::Default.section(), Section::PreData);
        assert_eq!(Kind::Database.section(), Section::PreData);
    }
}
