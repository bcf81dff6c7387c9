-- 008: row-level security on helios_tenants, as 003 did for the data tables. A transaction
-- sees and records only the row of its own `helios.tenant`, so a statement run as the
-- application role cannot list the other tenants' names by forgetting a filter. Listing every
-- tenant (`store.tenants()`, an administrative call) is an explicit request: its transaction
-- sets `helios.list_tenants` to 'on'. As for 003, the policies bind roles that neither own
-- the table nor have BYPASSRLS; `force_rls=true` binds the owner too.
ALTER TABLE helios_tenants ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON helios_tenants;
CREATE POLICY tenant_isolation ON helios_tenants
    USING (
        tenant = current_setting('helios.tenant', true)
        OR current_setting('helios.list_tenants', true) = 'on'
    )
    WITH CHECK (tenant = current_setting('helios.tenant', true));
