-- $1 link: one passcode attempt taken, if any is left; the attempts left after it.
UPDATE share_links SET attempts_left = attempts_left - 1
WHERE link_id = $1 AND attempts_left > 0
RETURNING attempts_left
