-- Replays into a schema of their own (`healthpipe replay`): the projection rebuilt from the
-- topics beside the live one, which keeps serving, then swapped in atomically. Schema and
-- table names are identifiers, so these are functions that quote them (format's %I) rather
-- than statements assembled by the caller.

-- Creates schema `target` with empty copies of `tables` (columns, defaults, constraints and
-- indexes under the live indexes' names, so later migrations find them after a switch;
-- hypertables with the live chunk intervals) and a `consumer_offsets` of its own: the
-- replay's positions live with its rows, as the live ones do. Idempotent: a replay resumes.
CREATE OR REPLACE FUNCTION healthpipe_replay_prepare(target text, tables text[])
RETURNS void LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
    t text;
    dim record;
    idx record;
BEGIN
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', target);
    FOREACH t IN ARRAY tables || ARRAY['consumer_offsets'] LOOP
        CONTINUE WHEN to_regclass(format('%I.%I', target, t)) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I.%I (LIKE public.%I INCLUDING ALL)', target, t, t);
        FOR dim IN
            SELECT column_name, time_interval FROM timescaledb_information.dimensions
            WHERE hypertable_schema = 'public' AND hypertable_name = t
        LOOP
            PERFORM create_hypertable(format('%I.%I', target, t)::regclass,
                                      dim.column_name::name,
                                      chunk_time_interval => dim.time_interval,
                                      create_default_indexes => false);
        END LOOP;
        -- LIKE names the copied indexes by their columns: give each the live one's name.
        FOR idx IN
            SELECT live.relname AS live_name, copy.relname AS copy_name
            FROM pg_index li JOIN pg_class live ON live.oid = li.indexrelid
            JOIN pg_index ci ON ci.indrelid = format('%I.%I', target, t)::regclass
            JOIN pg_class copy ON copy.oid = ci.indexrelid
            WHERE li.indrelid = format('public.%I', t)::regclass
              AND regexp_replace(pg_get_indexdef(li.indexrelid), '^.* USING ', '')
                = regexp_replace(pg_get_indexdef(ci.indexrelid), '^.* USING ', '')
              AND li.indisunique = ci.indisunique
              AND live.relname <> copy.relname
        LOOP
            EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', target, idx.copy_name, idx.live_name);
        END LOOP;
    END LOOP;
END
$$;

-- Copies into `target` the live aggregates a replay cannot compute: day, week and month
-- buckets starting before `horizon` (the raw-sample horizon), whose samples are gone.
CREATE OR REPLACE FUNCTION healthpipe_replay_copy_frozen(target text, horizon timestamptz)
RETURNS bigint LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
    copied bigint;
BEGIN
    EXECUTE format('INSERT INTO %I.aggregates SELECT * FROM public.aggregates
                    WHERE period <> ''hour'' AND period_start < $1
                    ON CONFLICT DO NOTHING', target) USING horizon;
    GET DIAGNOSTICS copied = ROW_COUNT;
    RETURN copied;
END
$$;

-- Swaps `tables` of `target` with the live ones in public: readers see the replayed tables
-- from the commit on, and `target` holds the previous ones. Views over the swapped tables
-- are defined again on the new ones (a view follows its table, not its name).
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
    LOOP
        views := views || v.relname::text;
        definitions := definitions || v.definition;
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

-- Drops a replay's schema (the replayed tables, or after a switch the previous live ones).
-- Only a schema a replay made (it holds the replay's `consumer_offsets`), never public.
CREATE OR REPLACE FUNCTION healthpipe_replay_drop(target text)
RETURNS void LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
    IF target = 'public' OR to_regclass(format('%I.consumer_offsets', target)) IS NULL THEN
        RAISE EXCEPTION 'schema "%" was not made by healthpipe replay', target
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    EXECUTE format('DROP SCHEMA %I CASCADE', target);
END
$$;
