-- Two schemas: `quality` is what users and BI tools read, `etl` is the loader's bookkeeping.
create schema if not exists quality;
create schema if not exists etl;
