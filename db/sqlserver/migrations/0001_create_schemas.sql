-- Two schemas: `quality` is what users and BI tools read, `etl` is the loader's bookkeeping.
-- T-SQL has no `create schema if not exists`, and `create schema` must be alone in its batch:
-- exec() gives it one without a GO.
if schema_id(N'quality') is null exec(N'create schema quality');
if schema_id(N'etl') is null exec(N'create schema etl');
