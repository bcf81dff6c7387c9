// helios-persistence graph model, schema version 1 (see README.md). Every statement is
// idempotent (IF NOT EXISTS): opening a store applies the versions the database lacks.

// one node per resource (live, deleted, or a stub a reference created) per tenant
CREATE CONSTRAINT helios_resource_key IF NOT EXISTS
FOR (r:Resource) REQUIRE (r.tenant, r.type, r.id) IS UNIQUE;

// the index values of each parameter type (value nodes), looked up by tenant, parameter, value
CREATE INDEX helios_str_norm IF NOT EXISTS FOR (v:Str) ON (v.tenant, v.param, v.norm);
CREATE INDEX helios_tok_code IF NOT EXISTS FOR (v:Tok) ON (v.tenant, v.param, v.code);
CREATE INDEX helios_date_low IF NOT EXISTS FOR (v:Date) ON (v.tenant, v.param, v.low);
CREATE INDEX helios_num_value IF NOT EXISTS FOR (v:Num) ON (v.tenant, v.param, v.value);
CREATE INDEX helios_qty_value IF NOT EXISTS FOR (v:Qty) ON (v.tenant, v.param, v.value);
CREATE INDEX helios_ref_target IF NOT EXISTS FOR (v:Ref) ON (v.tenant, v.param, v.target_id);
CREATE INDEX helios_uri_uri IF NOT EXISTS FOR (v:Uri) ON (v.tenant, v.param, v.uri);
CREATE INDEX helios_comp_param IF NOT EXISTS FOR (v:Comp) ON (v.tenant, v.param);
CREATE INDEX helios_resource_live IF NOT EXISTS FOR (r:Resource) ON (r.tenant, r.live);

// the applied schema version (one node per dialect)
CREATE CONSTRAINT helios_schema_dialect IF NOT EXISTS
FOR (m:HeliosSchema) REQUIRE m.dialect IS UNIQUE;
