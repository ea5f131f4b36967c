-- $1 link: the passcode was right, the attempt is given back.
UPDATE share_links SET attempts_left = attempts_left + 1 WHERE link_id = $1
