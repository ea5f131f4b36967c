-- The swap takes the views over the swapped tables before it moves any table. A statement
-- reading a view locks the view first and then its tables; the swap used to move the tables
-- first and redefine the views last, so a reader holding a view (every session lookup reads
-- `bucket_zones`) while waiting for a moved table, and the swap holding that table while
-- waiting for the view, deadlocked, and PostgreSQL failed the reader. Taken in the readers'
-- order (views, then tables), the locks only make readers wait for the commit.
CREATE OR REPLACE FUNCTION healthpipe_replay_swap(target text, tables text[])
RETURNS void LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
    t text;
    v record;
    views text[] := '{}';
    definitions text[] := '{}';
    aside text := left(target, 50) || '_swapping';
BEGIN
    FOR v IN
        SELECT DISTINCT c.relname, pg_get_viewdef(c.oid) AS definition
        FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid
        JOIN pg_class c ON c.oid = r.ev_class
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND d.refobjid <> c.oid
          AND d.refobjid IN (SELECT format('public.%I', x)::regclass FROM unnest(tables) x)
        ORDER BY c.relname
    LOOP
        views := views || v.relname::text;
        definitions := definitions || v.definition;
        EXECUTE format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', v.relname);
    END LOOP;
    EXECUTE format('CREATE SCHEMA %I', aside);
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE public.%I SET SCHEMA %I', t, aside);
        EXECUTE format('ALTER TABLE %I.%I SET SCHEMA public', target, t);
        EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', aside, t, target);
    END LOOP;
    EXECUTE format('DROP SCHEMA %I', aside);
    FOR i IN 1 .. coalesce(array_length(views, 1), 0) LOOP
        EXECUTE format('CREATE OR REPLACE VIEW public.%I AS %s', views[i], definitions[i]);
    END LOOP;
END
$$;
