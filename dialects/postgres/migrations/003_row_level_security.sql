-- 003: row-level security. Every table with a tenant column gets one policy: a row is visible
-- and writable only when its tenant is the transaction's `helios.tenant` setting, which the
-- store sets at the start of every transaction (set_config(..., is_local => true)). So a
-- query that forgets its tenant filter still sees only its tenant. Policies bind roles that
-- neither own the tables nor have BYPASSRLS (superusers never are bound); the store's
-- `force_rls=true` option also binds the owning role (FORCE ROW LEVEL SECURITY).
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'resources', 'history', 'idx_string', 'idx_token', 'idx_date', 'idx_number',
        'idx_quantity', 'idx_reference', 'idx_uri', 'resource_text', 'param_text', 'outbox'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant = current_setting(''helios.tenant'', true)) '
            'WITH CHECK (tenant = current_setting(''helios.tenant'', true))', t);
    END LOOP;
END $$;
