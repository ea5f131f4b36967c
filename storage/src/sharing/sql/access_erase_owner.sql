-- $1 owner.
DELETE FROM share_access WHERE owner_id = $1
