-- Least privilege for Supabase's API roles. Supabase grants anon and authenticated
-- every privilege on each new table in public (its default privileges); row-level
-- security filters rows, but not TRUNCATE, REFERENCES or TRIGGER. What the product
-- grants is all they keep: signed-in users read their own rows of five tables
-- (the policies of 20261127110000_production_path.sql); anon nothing.
-- service_role (BYPASSRLS, used by the functions' own connection) is left as it is.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on all tables in schema public from anon, authenticated;
    revoke all on all sequences in schema public from anon, authenticated;
    -- Tables created later by this role (the migrations' owner) start with nothing too.
    alter default privileges in schema public revoke all on tables from anon, authenticated;
    alter default privileges in schema public revoke all on sequences from anon, authenticated;
    grant select on profiles, posts, decisions, snapshots, rewards to authenticated;
  end if;
end
$$;
