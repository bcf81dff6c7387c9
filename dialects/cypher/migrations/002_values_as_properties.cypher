// helios-persistence graph model, schema version 2 (see ../README.md): a resource's index
// values are list properties on its node and a reference is a relationship whose type is its
// search parameter; the value nodes of version 1 and their indexes are gone. The applied
// version of a resource is its `version` property (version 1's `versionId` is not read):
// a node written under version 1 counts as unversioned, so `helios graph check` reports it
// stale and a rebuild re-applies it (deleting its value nodes).
DROP INDEX helios_str_norm IF EXISTS;
DROP INDEX helios_tok_code IF EXISTS;
DROP INDEX helios_date_low IF EXISTS;
DROP INDEX helios_num_value IF EXISTS;
DROP INDEX helios_qty_value IF EXISTS;
DROP INDEX helios_ref_target IF EXISTS;
DROP INDEX helios_uri_uri IF EXISTS;
DROP INDEX helios_comp_param IF EXISTS;
