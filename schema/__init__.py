"""Table definitions, one TOML file per virtual table (installed as ``o365sql.schema``)."""
