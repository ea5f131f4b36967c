-- $1 share: a grant that ended longer ago than retention keeps grants.
DELETE FROM share_grants WHERE share_id = $1
