-- $1 horizon: share grants that ended (expired, or were revoked) before it, with their access
-- records, links and the gateway's revocations. The transaction has said it removes access
-- records (see migration 0013's trigger).
WITH gone AS (
    DELETE FROM share_grants
    WHERE least(expires_at, coalesce(revoked_at, 'infinity'::timestamptz)) < $1
    RETURNING share_id
), access AS (
    DELETE FROM share_access WHERE share_id IN (SELECT share_id FROM gone)
), links AS (
    DELETE FROM share_links WHERE share_id IN (SELECT share_id FROM gone)
), revocations AS (
    DELETE FROM share_revocations WHERE share_id IN (SELECT share_id FROM gone)
)
SELECT count(*) FROM gone
