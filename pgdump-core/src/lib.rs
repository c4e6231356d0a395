//! pgdump-core: dump and restore PostgreSQL databases without pg_dump.
