-- $1 user.
SELECT organisation FROM providers WHERE user_id = $1
